import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile, appendFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { readLogs, parseTimestamp, formatNano, secondsToNano } from "./logs.js";
import type { LogEntry, ReadLogOptions } from "./runtime.js";
import { NotFoundError } from "../lib/errors.js";

const lines = [
  "2024-01-02T03:04:05.000000001+00:00 stdout F one",
  "2024-01-02T03:04:06.6+00:00 stdout F two",
  "2024-01-02T03:04:06.5+00:00 stderr P par",
  "2024-01-02T03:04:07+00:00 stderr F tial",
  "2024-01-02T04:04:08.000000000+01:00 stdout F three",
  "garbage line",
  "2024-01-02T03:04:09.123456789Z stdout F ",
].join("\n") + "\n";

async function read(path: string, opts: ReadLogOptions = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, opts)) out.push(e);
  return out;
}
const text = (es: LogEntry[]) => es.map((e) => `${e.stream}:${e.data.toString()}`);

describe("readLogs (k8s-file)", () => {
  let dir: string;
  let path: string;
  before(async () => {
    dir = await mkdtemp("/tmp/wharf-test-logs-");
    path = join(dir, "c.log");
    await writeFile(path, lines);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("joins partial lines per stream and keeps order", async () => {
    const all = await read(path);
    assert.deepEqual(text(all), ["stdout:one\n", "stdout:two\n", "stderr:partial\n", "stdout:three\n", "stdout:\n"]);
    assert.equal(all[0]!.timestamp, "2024-01-02T03:04:05.000000001Z");
    assert.equal(all[2]!.timestamp, "2024-01-02T03:04:06.500000000Z"); // the first fragment's time
    assert.equal(all[3]!.timestamp, "2024-01-02T03:04:08.000000000Z"); // offset normalised to UTC
  });

  it("filters streams", async () => {
    assert.deepEqual(text(await read(path, { stdout: false })), ["stderr:partial\n"]);
  });

  it("tail counts entries, not lines", async () => {
    assert.deepEqual(text(await read(path, { tail: 2 })), ["stdout:three\n", "stdout:\n"]);
    assert.deepEqual(text(await read(path, { tail: 3 })), ["stderr:partial\n", "stdout:three\n", "stdout:\n"]);
    assert.equal((await read(path, { tail: 0 })).length, 0);
    assert.equal((await read(path, { tail: 100 })).length, 5);
  });

  it("since and until (inclusive), exact with strings", async () => {
    const t = Number(parseTimestamp("2024-01-02T03:04:06.6Z")! / 1_000_000_000n);
    assert.deepEqual(text(await read(path, { since: "1704164646.6" })), ["stdout:two\n", "stdout:three\n", "stdout:\n"]);
    // A joined entry carries its first fragment's time (06.5).
    assert.deepEqual(text(await read(path, { until: "1704164646.6" })), ["stdout:one\n", "stdout:two\n", "stderr:partial\n"]);
    assert.deepEqual(text(await read(path, { since: t + 2, until: t + 2.5 })), ["stdout:three\n"]);
  });

  it("follows until told to stop, then drains", async () => {
    const followed = join(dir, "f.log");
    await writeFile(followed, "2024-01-02T03:04:05Z stdout F a\n");
    let stop!: () => void;
    const end = new Promise<void>((r) => (stop = r));
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(followed, { follow: end })) {
        seen.push(e.data.toString());
        if (seen.length === 1) await appendFile(followed, "2024-01-02T03:04:06Z stdout P b\n");
        if (seen.length === 1) await appendFile(followed, "2024-01-02T03:04:06Z stdout F c\n");
        if (seen.length === 2) {
          await appendFile(followed, "2024-01-02T03:04:07Z stderr F last\n");
          stop();
        }
      }
    })();
    await reading;
    assert.deepEqual(seen, ["a\n", "bc\n", "last\n"]);
  });

  it("missing file is NotFound", async () => {
    await assert.rejects(read(join(dir, "nope.log")), NotFoundError);
  });

  it("timestamps", () => {
    assert.equal(parseTimestamp("1970-01-01T00:00:01.5Z"), 1_500_000_000n);
    assert.equal(parseTimestamp("1970-01-01T01:00:01+01:00"), 1_000_000_000n);
    assert.equal(parseTimestamp("nope"), null);
    assert.equal(formatNano(1_500_000_001n), "1970-01-01T00:00:01.500000001Z");
    assert.equal(secondsToNano("12.000000345"), 12_000_000_345n);
    assert.equal(secondsToNano(1.5), 1_500_000_000n);
  });
});
