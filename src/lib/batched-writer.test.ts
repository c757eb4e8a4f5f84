import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BatchedWriter } from "./batched-writer.js";

async function withFile(fn: (fh: FileHandle, path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "batched-writer-"));
  const path = join(dir, "f");
  const fh = await open(path, "w");
  try {
    await fn(fh, path);
  } finally {
    await fh.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

test("chunks of every size land in order, in few writes", async () => {
  await withFile(async (fh, path) => {
    let calls = 0;
    const writev = fh.writev.bind(fh);
    fh.writev = ((bufs: Buffer[]) => (calls++, writev(bufs))) as typeof fh.writev;
    const w = new BatchedWriter(fh, { batchBytes: 1 << 16 });
    const chunks = Array.from({ length: 200 }, (_, i) => randomBytes((i * 977) % 5000));
    for (const c of chunks) await w.write(c);
    await w.flush();
    const all = Buffer.concat(chunks);
    assert.equal(w.written, all.length);
    assert.deepEqual(await readFile(path), all);
    assert.ok(calls <= Math.ceil(all.length / (1 << 16)) + 1, `${calls} writes`);
  });
});

test("a short writev goes on from where it stopped", async () => {
  await withFile(async (fh, path) => {
    const writev = fh.writev.bind(fh);
    // Write at most 1000 bytes per call, as a full pipe or a signal might.
    fh.writev = ((bufs: Buffer[]) => writev([Buffer.concat(bufs).subarray(0, 1000)])) as typeof fh.writev;
    const w = new BatchedWriter(fh, { batchBytes: 4096 });
    const chunks = Array.from({ length: 10 }, () => randomBytes(1500));
    for (const c of chunks) await w.write(c);
    await w.flush();
    assert.deepEqual(await readFile(path), Buffer.concat(chunks));
  });
});

test("a failed write is thrown by the next write or flush, and not counted", async () => {
  await withFile(async (fh) => {
    fh.writev = (() => Promise.reject(new Error("disk full"))) as typeof fh.writev;
    const w = new BatchedWriter(fh, { batchBytes: 10 });
    await w.write(Buffer.alloc(20));
    await assert.rejects(w.flush(), /disk full/);
    await assert.rejects(w.write(Buffer.alloc(1)), /disk full/);
    assert.equal(w.written, 0);
  });
});

test("a partial batch reaches the file after a pause, without a flush", async () => {
  await withFile(async (fh, path) => {
    const w = new BatchedWriter(fh, { batchBytes: 1 << 20 });
    await w.write(Buffer.from("first bytes"));
    for (let i = 0; i < 100 && w.written === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal((await readFile(path)).toString(), "first bytes");
    await w.write(Buffer.from(", more"));
    await w.flush();
    assert.equal((await readFile(path)).toString(), "first bytes, more");
  });
});

test("syncEveryBytes: background datasyncs as bytes go out; a failed one is thrown", async () => {
  await withFile(async (fh, path) => {
    let syncs = 0;
    const datasync = fh.datasync.bind(fh);
    fh.datasync = (() => (syncs++, datasync())) as typeof fh.datasync;
    const w = new BatchedWriter(fh, { batchBytes: 4096, syncEveryBytes: 16384 });
    const chunks = Array.from({ length: 64 }, () => randomBytes(1024));
    for (const c of chunks) await w.write(c);
    await w.flush();
    assert.deepEqual(await readFile(path), Buffer.concat(chunks));
    assert.ok(syncs >= 1 && syncs <= 4, `${syncs} syncs`);
    fh.datasync = (() => Promise.reject(new Error("EIO"))) as typeof fh.datasync;
    await assert.rejects(async () => {
      for (let i = 0; i < 20; i++) await w.write(randomBytes(1024));
      await w.flush();
    }, /EIO/);
  });
});
