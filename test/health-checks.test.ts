import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ok, TestDaemon } from "./support/daemon.js";

/**
 * Health checks on a real daemon, seen through the real docker CLI: `--health-*`
 * flags and an image's HEALTHCHECK, the starting → unhealthy → healthy
 * transitions, `ps` status and `--filter health=`, `health_status` events,
 * probe timeouts, and `--no-healthcheck`.
 */
const p = `wharftest-${randomBytes(3).toString("hex")}`;


describe("health checks", () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start({ bridge: "none" });
  });
  after(async () => {
    await d?.stop();
  });

  const health = async (name: string) => ok(await d.docker(["inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}", name]), "inspect").stdout.trim();
  const until = async (name: string, status: string) => {
    const deadline = Date.now() + 15_000;
    let now = await health(name);
    while (now !== status && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      now = await health(name);
    }
    assert.equal(now, status, `${name} never became ${status}`);
  };

  test("--health-cmd: starting, unhealthy after the retries, healthy once the probe passes; ps, filters, events", async () => {
    const name = `${p}-hc`;
    const since = Math.floor(Date.now() / 1000) - 1;
    ok(await d.docker(["run", "-d", "--name", name, "--health-cmd", "test -f /tmp/ok", "--health-interval", "200ms", "--health-retries", "2", "busybox", "sleep", "60"]), "run");
    try {
      assert.equal(await health(name), "starting");
      await until(name, "unhealthy");
      assert.match(ok(await d.docker(["ps", "--filter", `name=${name}`, "--format", "{{.Status}}"]), "ps").stdout, /\(unhealthy\)/);
      ok(await d.docker(["exec", name, "touch", "/tmp/ok"]), "exec touch");
      await until(name, "healthy");
      assert.match(ok(await d.docker(["ps", "--filter", `name=${name}`, "--format", "{{.Status}}"]), "ps").stdout, /\(healthy\)/);
      assert.match(ok(await d.docker(["ps", "--filter", "health=healthy", "--format", "{{.Names}}"]), "ps --filter health").stdout, new RegExp(name));
      assert.doesNotMatch(ok(await d.docker(["ps", "--filter", "health=unhealthy", "--format", "{{.Names}}"]), "ps --filter health").stdout, new RegExp(name));
      const log = JSON.parse(ok(await d.docker(["inspect", "-f", "{{json .State.Health}}", name]), "inspect").stdout) as { FailingStreak: number; Log: Array<{ ExitCode: number }> };
      assert.equal(log.FailingStreak, 0);
      assert.ok(log.Log.length > 0 && log.Log.length <= 5);
      assert.equal(log.Log.at(-1)!.ExitCode, 0);
      const events = ok(await d.docker(["events", "--since", String(since), "--until", String(Math.ceil(Date.now() / 1000) + 1), "--filter", "event=health_status", "--filter", `container=${name}`]), "events").stdout;
      assert.match(events, /health_status: unhealthy/);
      assert.match(events, /health_status: healthy/);
    } finally {
      await d.docker(["rm", "-f", name]);
    }
  });

  test("a probe past its timeout is killed and counts as a failure", async () => {
    const name = `${p}-slow`;
    ok(await d.docker(["run", "-d", "--name", name, "--health-cmd", "sleep 30", "--health-interval", "100ms", "--health-timeout", "200ms", "--health-retries", "1", "busybox", "sleep", "60"]), "run");
    try {
      await until(name, "unhealthy");
      const last = ok(await d.docker(["inspect", "-f", "{{(index .State.Health.Log 0).ExitCode}}|{{(index .State.Health.Log 0).Output}}", name]), "inspect").stdout.trim();
      assert.equal(last, "-1|Health check exceeded timeout (0.2s)");
      // The killed probes do not pile up in the container.
      const procs = ok(await d.docker(["exec", name, "ps", "-o", "args"]), "ps in the container").stdout;
      assert.ok(procs.split("\n").filter((l) => l === "sleep 30").length <= 1, procs);
    } finally {
      await d.docker(["rm", "-f", name]);
    }
  });

  test("an image's HEALTHCHECK applies; --no-healthcheck turns it off", async () => {
    const ctx = await mkdtemp("/tmp/wharf-test-hc-");
    const image = `${p}/healthy:1`;
    try {
      await writeFile(join(ctx, "Dockerfile"), "FROM busybox\nHEALTHCHECK --interval=100ms --retries=1 CMD true\n");
      ok(await d.docker(["build", "-q", "-t", image, ctx]), "build");
      const name = `${p}-img`;
      ok(await d.docker(["run", "-d", "--name", name, image, "sleep", "60"]), "run");
      try {
        await until(name, "healthy");
      } finally {
        await d.docker(["rm", "-f", name]);
      }
      const off = `${p}-off`;
      ok(await d.docker(["run", "-d", "--name", off, "--no-healthcheck", image, "sleep", "60"]), "run --no-healthcheck");
      try {
        assert.equal(await health(off), "none");
        assert.match(ok(await d.docker(["ps", "--filter", "health=none", "--format", "{{.Names}}"]), "ps").stdout, new RegExp(off));
      } finally {
        await d.docker(["rm", "-f", off]);
      }
    } finally {
      await d.docker(["rmi", image]);
      await rm(ctx, { recursive: true, force: true });
    }
  });

  test("bad health settings are refused", async () => {
    const r = await d.docker(["run", "--rm", "--no-healthcheck", "--health-cmd", "true", "busybox", "true"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--no-healthcheck conflicts with --health-\* options/);
    const neg = await d.wharf(["run", "--rm", "--health-retries", "-1", "--health-cmd", "true", "busybox", "true"]);
    assert.equal(neg.code, 125);
    assert.match(neg.stderr, /Retries in Healthcheck cannot be negative/);
  });
});
