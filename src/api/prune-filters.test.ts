import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors.js";
import { pruneMatcher, untilTime } from "./prune-filters.js";

const now = Date.parse("2026-12-03T12:00:00Z");

describe("untilTime", () => {
  for (const [value, expected] of [
    ["24h", now - 86_400_000],
    ["1h30m", now - 5_400_000],
    ["1700000000", 1_700_000_000_000],
    ["1700000000.5", 1_700_000_000_500],
    ["2026-12-01", Date.parse("2026-12-01")],
    ["2026-12-01T10:00:00Z", Date.parse("2026-12-01T10:00:00Z")],
  ] as const) {
    it(`reads ${value}`, () => assert.equal(untilTime(value, now), expected));
  }
  for (const value of ["yesterday", "", "12:00", "1d"]) {
    it(`refuses ${JSON.stringify(value)}`, () => assert.throws(() => untilTime(value, now), InvalidArgumentError));
  }
});

describe("pruneMatcher", () => {
  const old = { created: Date.parse("2020-01-01T00:00:00Z"), labels: { stage: "drop", team: "a" } };
  const fresh = { created: Date.now(), labels: null };
  const m = (f: Record<string, string[]>) => pruneMatcher(new Map(Object.entries(f)), ["until", "label", "label!", "dangling"]);

  it("matches everything without filters", () => assert.ok(m({})(old) && m({})(fresh)));
  it("until keeps what was created since", () => {
    assert.ok(m({ until: ["1h"] })(old));
    assert.ok(!m({ until: ["1h"] })(fresh));
  });
  it("label needs every one, label! none", () => {
    assert.ok(m({ label: ["stage=drop", "team"] })(old));
    assert.ok(!m({ label: ["stage=drop", "team=b"] })(old));
    assert.ok(!m({ label: ["stage"] })(fresh));
    assert.ok(!m({ "label!": ["team=b", "stage"] })(old));
    assert.ok(m({ "label!": ["stage"] })(fresh));
  });
  it("leaves the caller's own keys alone and refuses unknown ones and two untils", () => {
    assert.ok(m({ dangling: ["false"] })(old));
    assert.throws(() => m({ color: ["red"] }), /invalid filter 'color'/);
    assert.throws(() => m({ until: ["1h", "2h"] }), /more than one until/);
  });
});
