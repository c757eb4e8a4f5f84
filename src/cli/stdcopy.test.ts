import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { test } from "node:test";
import { demuxStream, encodeFrame, StdcopyParser } from "./stdcopy.js";
import { Capture } from "./testing/test-io.js";

test("parser returns whole frames whatever the chunk boundaries", () => {
  const wire = Buffer.concat([encodeFrame(1, "hello "), encodeFrame(2, "oops\n"), encodeFrame(1, "world\n")]);
  for (let cut = 1; cut < wire.length; cut++) {
    const p = new StdcopyParser();
    const frames = [...p.push(wire.subarray(0, cut)), ...p.push(wire.subarray(cut))];
    assert.deepEqual(
      frames.map((f) => [f.stream, f.payload.toString()]),
      [
        ["stdout", "hello "],
        ["stderr", "oops\n"],
        ["stdout", "world\n"],
      ],
      `cut at ${cut}`,
    );
    assert.equal(p.pendingBytes, 0);
  }
});

test("header layout: type byte, three zero bytes, uint32 big-endian length", () => {
  const f = encodeFrame(2, Buffer.alloc(300));
  assert.deepEqual([...f.subarray(0, 8)], [2, 0, 0, 0, 0, 0, 1, 44]);
  const p = new StdcopyParser();
  assert.deepEqual(p.push(f.subarray(0, 100)), []);
  assert.equal(p.push(f.subarray(100))[0]!.payload.length, 300);
});

test("unknown stream types are an error", () => {
  assert.throws(() => new StdcopyParser().push(Buffer.from([9, 0, 0, 0, 0, 0, 0, 0])), /unrecognized input header: 9/);
});

test("demuxStream splits stdout/stderr and surfaces system errors", async () => {
  const src = new PassThrough();
  const out = new Capture();
  const err = new Capture();
  const done = demuxStream(src, out, err);
  src.write(encodeFrame(1, "a"));
  src.write(encodeFrame(2, "b"));
  src.end(encodeFrame(1, "c"));
  await done;
  assert.equal(out.text, "ac");
  assert.equal(err.text, "b");

  const bad = new PassThrough();
  const failing = demuxStream(bad, new Capture(), new Capture());
  bad.end(encodeFrame(3, "daemon went away"));
  await assert.rejects(failing, /daemon went away/);
});
