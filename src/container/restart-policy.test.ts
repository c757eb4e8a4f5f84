import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRestartPolicy, restartDelayMs, shouldRestart } from "./restart-policy.js";
import { InvalidArgumentError } from "../lib/errors.js";

test("restart policy validation", () => {
  assert.deepEqual(parseRestartPolicy({ Name: "on-failure", MaximumRetryCount: 3 }), { Name: "on-failure", MaximumRetryCount: 3 });
  assert.throws(() => parseRestartPolicy({ Name: "sometimes" as never }), InvalidArgumentError);
  assert.throws(() => parseRestartPolicy({ Name: "always", MaximumRetryCount: 2 }), InvalidArgumentError);
});

test("on-failure restarts only failures, up to the limit", () => {
  const p = { Name: "on-failure" as const, MaximumRetryCount: 2 };
  assert.equal(shouldRestart(p, 0, 0), false);
  assert.equal(shouldRestart(p, 1, 1), true);
  assert.equal(shouldRestart(p, 1, 2), false);
  assert.equal(shouldRestart({ Name: "always", MaximumRetryCount: 0 }, 0, 100), true);
  assert.equal(shouldRestart({ Name: "no", MaximumRetryCount: 0 }, 1, 0), false);
});

test("back-off doubles and resets after a long run", () => {
  const now = Date.parse("2026-01-01T00:00:20Z");
  assert.equal(restartDelayMs(0, "2026-01-01T00:00:19Z", now), 100);
  assert.equal(restartDelayMs(3, "2026-01-01T00:00:19Z", now), 800);
  assert.equal(restartDelayMs(3, "2026-01-01T00:00:00Z", now), 100);
});
