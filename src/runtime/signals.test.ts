import { it } from "node:test";
import assert from "node:assert/strict";
import { parseSignal } from "./signals.js";
import { InvalidArgumentError } from "../lib/errors.js";

it("parseSignal accepts names, short names and numbers", () => {
  assert.equal(parseSignal("SIGTERM"), 15);
  assert.equal(parseSignal("term"), 15);
  assert.equal(parseSignal("KILL"), 9);
  assert.equal(parseSignal("9"), 9);
  assert.equal(parseSignal(2), 2);
  assert.equal(parseSignal("SIGRTMIN+3"), 37);
  assert.throws(() => parseSignal("NOPE"), InvalidArgumentError);
  assert.throws(() => parseSignal("0"), InvalidArgumentError);
  assert.throws(() => parseSignal(65), InvalidArgumentError);
});
