import assert from "node:assert/strict";
import { test } from "node:test";
import { parseContentRange, resolveRange, uploadRangeHeader } from "./byte-range.js";

test("Range: single ranges, open ends, suffixes, clamping", () => {
  assert.equal(resolveRange(undefined, 10), undefined);
  assert.deepEqual(resolveRange("bytes=0-4", 10), { start: 0, end: 4 });
  assert.deepEqual(resolveRange("bytes=5-", 10), { start: 5, end: 9 });
  assert.deepEqual(resolveRange("bytes=-3", 10), { start: 7, end: 9 });
  assert.deepEqual(resolveRange("bytes=-30", 10), { start: 0, end: 9 });
  assert.deepEqual(resolveRange("bytes=8-100", 10), { start: 8, end: 9 });
  assert.deepEqual(resolveRange("BYTES = 1 - 2", 10), { start: 1, end: 2 });
});

test("Range: unsatisfiable vs ignored", () => {
  assert.equal(resolveRange("bytes=10-", 10), "unsatisfiable");
  assert.equal(resolveRange("bytes=10-20", 10), "unsatisfiable");
  assert.equal(resolveRange("bytes=-0", 10), "unsatisfiable");
  assert.equal(resolveRange("bytes=0-0", 0), "unsatisfiable");
  // Malformed, reversed or multi-range headers are ignored: the whole blob, 200.
  for (const h of ["bytes=5-1", "bytes=0-1,3-4", "items=0-1", "bytes=", "bytes=-", "bytes=a-b", "0-1"]) {
    assert.equal(resolveRange(h, 10), undefined, h);
  }
});

test("Content-Range of an upload chunk: the spec's form and the RFC's", () => {
  assert.deepEqual(parseContentRange("0-99"), { start: 0, end: 99 });
  assert.deepEqual(parseContentRange("bytes 100-199/*"), { start: 100, end: 199 });
  assert.deepEqual(parseContentRange("bytes=5-5"), { start: 5, end: 5 });
  assert.deepEqual(parseContentRange("bytes 0-9/10"), { start: 0, end: 9 });
  for (const bad of ["", "5", "-5", "9-0", "a-b", "0-1-2", "bytes */10", `0-${"9".repeat(20)}`]) {
    assert.equal(parseContentRange(bad), undefined, bad);
  }
});

test("upload Range header: 0-<last byte>, 0-0 when empty", () => {
  assert.equal(uploadRangeHeader(0), "0-0");
  assert.equal(uploadRangeHeader(1), "0-0");
  assert.equal(uploadRangeHeader(100), "0-99");
});
