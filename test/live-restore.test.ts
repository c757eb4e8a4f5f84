import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { TestDaemon } from "./support/daemon.js";

/** kill -9 of the daemon while containers run, then a restart: nothing lost, nothing leaked. */
let daemon: TestDaemon;
const p = `wharftest-${randomBytes(3).toString("hex")}`;

before(async () => {
  daemon = await TestDaemon.start();
});
after(async () => {
  await daemon?.stop();
});

async function mountsUnder(dir: string): Promise<string[]> {
  return (await readFile("/proc/self/mounts", "utf8")).split("\n").filter((l) => l.includes(dir));
}

test("containers survive a daemon crash and are re-adopted", async () => {
  const run = await daemon.wharf(["run", "-d", "--name", `${p}-keep`, "busybox", "sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"]);
  assert.equal(run.code, 0, run.stderr);
  const short = await daemon.wharf(["run", "-d", "--name", `${p}-short`, "busybox", "sh", "-c", "sleep 1; exit 42"]);
  assert.equal(short.code, 0, short.stderr);

  await daemon.crash();
  await new Promise((r) => setTimeout(r, 1500)); // the short one exits while no daemon runs
  await daemon.launch();

  const ps = await daemon.wharf(["ps", "--format", "{{.Names}} {{.State}}"]);
  assert.match(ps.stdout, new RegExp(`${p}-keep running`));
  const exited = await daemon.wharf(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", `${p}-short`]);
  assert.equal(exited.stdout.trim(), "exited 42");

  const logs = await daemon.wharf(["logs", "--tail", "1", `${p}-keep`]);
  assert.match(logs.stdout, /^tick \d+\n$/);
  const exec = await daemon.wharf(["exec", `${p}-keep`, "echo", "still here"]);
  assert.equal(exec.stdout, "still here\n");

  const stop = await daemon.wharf(["stop", "-t", "1", `${p}-keep`]);
  assert.equal(stop.code, 0, stop.stderr);
  const rm = await daemon.wharf(["rm", `${p}-keep`, `${p}-short`]);
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(await mountsUnder(daemon.dataRoot), [], "no overlay mounts left");
});

test("logs -f follows a re-adopted container until it exits", async () => {
  const run = await daemon.wharf(["run", "-d", "--name", `${p}-follow`, "busybox", "sh", "-c", "sleep 1; echo done-now"]);
  assert.equal(run.code, 0, run.stderr);
  await daemon.crash();
  await daemon.launch();
  const logs = await daemon.wharf(["logs", "-f", `${p}-follow`]);
  assert.equal(logs.stdout, "done-now\n");
  await daemon.wharf(["rm", "-f", `${p}-follow`]);
});

test("restart policy brings a crashed container back", async () => {
  const run = await daemon.wharf(["run", "-d", "--name", `${p}-always`, "--restart", "on-failure:2", "busybox", "sh", "-c", "echo attempt; exit 1"]);
  assert.equal(run.code, 0, run.stderr);
  for (let i = 0; i < 100; i++) {
    const r = await daemon.wharf(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", `${p}-always`]);
    if (r.stdout.trim() === "2 exited") break;
    await new Promise((res) => setTimeout(res, 100));
  }
  const r = await daemon.wharf(["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", `${p}-always`]);
  assert.equal(r.stdout.trim(), "2 exited");
  const logs = await daemon.wharf(["logs", `${p}-always`]);
  assert.equal(logs.stdout, "attempt\nattempt\nattempt\n");
  await daemon.wharf(["rm", "-f", `${p}-always`]);
});
