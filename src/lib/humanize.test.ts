import assert from "node:assert/strict";
import { test } from "node:test";
import {
  apiTimestamp,
  bytesSize,
  containerStatusText,
  ellipsis,
  formatG,
  humanDuration,
  humanSizeWithPrecision,
  parseGoDuration,
  ramInBytes,
  timeAgo,
  truncateId,
} from "./humanize.js";

const s = 1000;
const m = 60 * s;
const h = 60 * m;
const d = 24 * h;

test("humanDuration follows go-units HumanDuration", () => {
  const cases: Array<[number, string]> = [
    [0, "Less than a second"],
    [999, "Less than a second"],
    [1 * s, "1 second"],
    [3 * s, "3 seconds"],
    [59 * s, "59 seconds"],
    [60 * s, "About a minute"],
    [119 * s, "About a minute"],
    [2 * m, "2 minutes"],
    [59 * m, "59 minutes"],
    [60 * m, "About an hour"],
    [89 * m, "About an hour"],
    [90 * m, "2 hours"],
    [47 * h, "47 hours"],
    [48 * h, "2 days"],
    [13 * d, "13 days"],
    [14 * d, "2 weeks"],
    [59 * d, "8 weeks"],
    [60 * d, "2 months"],
    [729 * d, "24 months"],
    [730 * d, "2 years"],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

test("timeAgo and container status lines read like docker ps", () => {
  const now = Date.parse("2024-05-01T12:00:00Z");
  assert.equal(timeAgo(now - 90 * s, now), "About a minute ago");
  assert.equal(
    containerStatusText({ Running: true, StartedAt: "2024-05-01T11:59:57Z" }, now),
    "Up 3 seconds",
  );
  assert.equal(
    containerStatusText({ Running: true, Paused: true, StartedAt: "2024-05-01T11:00:00Z" }, now),
    "Up About an hour (Paused)",
  );
  assert.equal(
    containerStatusText(
      { Running: false, ExitCode: 0, StartedAt: "2024-05-01T11:50:00Z", FinishedAt: "2024-05-01T11:58:00Z" },
      now,
    ),
    "Exited (0) 2 minutes ago",
  );
  assert.equal(containerStatusText({ Running: false, StartedAt: "0001-01-01T00:00:00Z" }, now), "Created");
  assert.equal(containerStatusText({ Running: true, Restarting: true, ExitCode: 1, FinishedAt: "2024-05-01T11:59:58Z" }, now), "Restarting (1) 2 seconds ago");
  assert.equal(containerStatusText({ Running: true, StartedAt: "2024-05-01T11:59:00Z", Health: { Status: "starting" } }, now), "Up About a minute (health: starting)");
});

test("sizes use go-units decimal and binary units with %g precision", () => {
  assert.equal(humanSizeWithPrecision(0, 3), "0B");
  assert.equal(humanSizeWithPrecision(84, 3), "84B");
  assert.equal(humanSizeWithPrecision(1984000, 3), "1.98MB");
  assert.equal(humanSizeWithPrecision(4_260_000, 3), "4.26MB");
  assert.equal(humanSizeWithPrecision(755_200, 3), "755kB");
  assert.equal(humanSizeWithPrecision(120_000, 3), "120kB");
  assert.equal(humanSizeWithPrecision(1_000_000_000, 3), "1GB");
  assert.equal(humanSizeWithPrecision(999_600, 3), "1e+03kB");
  assert.equal(bytesSize(1536 * 1024 * 1024), "1.5GiB");
  assert.equal(bytesSize(25_275_445_248), "23.54GiB");
  assert.equal(formatG(0.00001234, 3), "1.23e-05");
});

test("ramInBytes parses docker memory values", () => {
  assert.equal(ramInBytes("512m"), 512 * 2 ** 20);
  assert.equal(ramInBytes("1g"), 2 ** 30);
  assert.equal(ramInBytes("1.5GB"), 1.5 * 2 ** 30);
  assert.equal(ramInBytes("100"), 100);
  assert.equal(ramInBytes("64MiB"), 64 * 2 ** 20);
  assert.throws(() => ramInBytes("lots"), /invalid size: 'lots'/);
});

test("ellipsis and truncateId", () => {
  assert.equal(ellipsis("sh -c 'echo hi; sleep 1000'", 20), "sh -c 'echo hi; sle…");
  assert.equal(ellipsis("short", 20), "short");
  assert.equal(truncateId("sha256:7a0f870467f0586b8e1b2f47fb92f327"), "7a0f870467f0");
  assert.equal(truncateId("74e2dfcfb7351afcd400"), "74e2dfcfb735");
});

test("go durations and --since/--until timestamps", () => {
  assert.equal(parseGoDuration("1h30m"), 90 * m);
  assert.equal(parseGoDuration("10s"), 10 * s);
  assert.equal(parseGoDuration("1.5h"), 90 * m);
  assert.equal(parseGoDuration("500ms"), 500);
  assert.equal(parseGoDuration("abc"), undefined);
  assert.equal(parseGoDuration("10"), undefined);
  const now = Date.parse("2024-05-01T12:00:00Z");
  assert.equal(apiTimestamp("10m", now), `${now / 1000 - 600}.000000000`);
  assert.equal(apiTimestamp("1714564800", now), "1714564800");
  assert.equal(apiTimestamp("2024-05-01T12:00:00Z", now), "1714564800.000000000");
  assert.throws(() => apiTimestamp("yesterday-ish", now));
});
