import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "../lib/errors.js";
import { checkHealthConfig, HealthMonitor, mergeHealthConfig, probeCommand, type HealthState } from "./health-check.js";

const ms = 1_000_000;

test("probeCommand: CMD-SHELL through /bin/sh -c, CMD as is, NONE and empty mean no check", () => {
  assert.deepEqual(probeCommand({ Test: ["CMD-SHELL", "curl -f localhost || exit 1"] }), ["/bin/sh", "-c", "curl -f localhost || exit 1"]);
  assert.deepEqual(probeCommand({ Test: ["CMD", "true", "x"] }), ["true", "x"]);
  assert.equal(probeCommand({ Test: ["NONE"] }), null);
  assert.equal(probeCommand({ Test: [] }), null);
  assert.equal(probeCommand(undefined), null);
});

test("mergeHealthConfig: the client's fields over the image's; an empty Test inherits", () => {
  const image = { Test: ["CMD", "true"], Interval: 5000 * ms, Retries: 5 };
  assert.deepEqual(mergeHealthConfig({ Test: [], Interval: 100 * ms }, image), { Test: ["CMD", "true"], Interval: 100 * ms, Retries: 5 });
  assert.deepEqual(mergeHealthConfig({ Test: ["NONE"] }, image), { Test: ["NONE"], Interval: 5000 * ms, Retries: 5 });
  assert.equal(mergeHealthConfig(undefined, undefined), undefined);
  assert.deepEqual(mergeHealthConfig({ Test: ["CMD", "x"], Timeout: null } as never, { Test: ["CMD", "y"], Timeout: 5 * ms }), { Test: ["CMD", "x"], Timeout: 5 * ms });
});

test("checkHealthConfig: dockerd's refusals", () => {
  assert.throws(() => checkHealthConfig({ Interval: 10 }), (e) => e instanceof InvalidArgumentError && /cannot be less than 1ms/.test(e.message));
  assert.throws(() => checkHealthConfig({ Retries: -1 }), /Retries in Healthcheck cannot be negative/);
  assert.throws(() => checkHealthConfig({ Test: ["SHELL", "x"] }), /unknown health check type SHELL/);
  assert.throws(() => checkHealthConfig({ Test: ["CMD"] }), /needs a command/);
  checkHealthConfig({ Test: ["CMD-SHELL", "true"], Interval: 0, Timeout: 2 * ms });
  // docker-py (so compose) sends null for what the user left out.
  checkHealthConfig({ Test: ["CMD", "true"], Interval: 300 * ms, Timeout: null, StartPeriod: null, Retries: null } as never);
});

/** Runs a monitor over scripted probe exit codes until `done` says stop; returns every state it reported. */
async function watch(codes: number[], config: Parameters<typeof mergeHealthConfig>[0], done: (s: HealthState) => boolean): Promise<HealthState[]> {
  const seen: HealthState[] = [];
  let i = 0;
  // The monitor's timers never hold the process; this does, until the test is done.
  const hold = setInterval(() => undefined, 1000);
  return new Promise((resolve) => {
    const m = new HealthMonitor(["probe"], config ?? {}, async () => ({ exitCode: codes[Math.min(i++, codes.length - 1)]!, output: "", timedOut: false }), (s) => {
      seen.push(s);
      if (done(s)) {
        m.stop();
        clearInterval(hold);
        resolve(seen);
      }
    });
    m.start();
  });
}

test("HealthMonitor: unhealthy only after Retries failures in a row; one success resets the streak", async () => {
  const states = await watch([1, 0, 1, 1, 1], { Interval: 2 * ms, Retries: 3 }, (s) => s.Status === "unhealthy");
  assert.deepEqual(
    states.map((s) => `${s.Status}/${s.FailingStreak}`),
    ["starting/1", "healthy/0", "healthy/1", "healthy/2", "unhealthy/3"],
  );
  assert.equal(states.at(-1)!.Log.length, 5);
});

test("HealthMonitor: failures within the start period do not count", async () => {
  const states = await watch([1, 1, 1, 0], { Interval: 2 * ms, StartPeriod: 10_000 * ms, StartInterval: 2 * ms, Retries: 1 }, (s) => s.Status === "healthy");
  assert.deepEqual(
    states.map((s) => `${s.Status}/${s.FailingStreak}`),
    ["starting/0", "starting/0", "starting/0", "healthy/0"],
  );
});

test("HealthMonitor: a timed-out probe is a failure with exit -1 and Docker's message", async () => {
  const seen: HealthState[] = [];
  const hold = setInterval(() => undefined, 1000);
  await new Promise<void>((resolve) => {
    const m = new HealthMonitor(["probe"], { Interval: 2 * ms, Timeout: 300 * ms, Retries: 1 }, async () => ({ exitCode: 137, output: "partial", timedOut: true }), (s) => {
      seen.push(s);
      m.stop();
      clearInterval(hold);
      resolve();
    });
    m.start();
  });
  assert.equal(seen[0]!.Status, "unhealthy");
  assert.deepEqual({ code: seen[0]!.Log[0]!.ExitCode, out: seen[0]!.Log[0]!.Output }, { code: -1, out: "Health check exceeded timeout (0.3s)" });
});
