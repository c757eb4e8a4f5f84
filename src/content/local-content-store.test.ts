import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import { LocalContentStore } from "./local-content-store.js";
import { sha256Digest } from "./digest.js";
import { decompressed } from "./compression.js";
import { readAll } from "./tar-entries.js";

describe("LocalContentStore", () => {
  let root: string;
  let store: LocalContentStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wharf-test-content-"));
    store = await LocalContentStore.open(root);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("ingests, reads back and lists a blob", async () => {
    const data = Buffer.from("hello world\n");
    const info = await store.ingest(Readable.from([data.subarray(0, 3), data.subarray(3)]));
    assert.equal(info.digest, sha256Digest(data));
    assert.equal(info.size, data.length);
    assert.ok(await store.has(info.digest));
    assert.deepEqual(await store.info(info.digest), info);
    assert.deepEqual(await store.readBytes(info.digest), data);
    assert.deepEqual(await readAll(await store.readStream(info.digest)), data);
    assert.deepEqual(await readAll(await store.readStream(info.digest, { start: 6, end: 10 })), Buffer.from("world"));
    assert.ok((await store.path(info.digest)).endsWith(info.digest.slice(7)));
    assert.ok((await store.list()).some((b) => b.digest === info.digest));
    // Same content again is fine.
    assert.deepEqual(await store.put(data), info);
  });

  it("rejects a digest mismatch and writes nothing", async () => {
    const before = await store.list();
    const wrong = sha256Digest("something else");
    await assert.rejects(store.put("payload", { digest: wrong }), InvalidArgumentError);
    await assert.rejects(store.put("payload", { size: 3 }), InvalidArgumentError);
    await assert.rejects(store.put("payload", { size: 30 }), InvalidArgumentError);
    assert.deepEqual((await store.list()).length, before.length);
    assert.equal(await store.has(sha256Digest("payload")), false);
    assert.equal(await store.has(wrong), false);
    assert.deepEqual(await readdir(join(root, "ingest")), []);
    // The right expectation is accepted.
    const ok = await store.put("payload", { digest: sha256Digest("payload"), size: 7 });
    assert.equal(ok.digest, sha256Digest("payload"));
  });

  it("validates digests strictly", async () => {
    for (const bad of ["sha256:../../etc/passwd", "sha256:ABC", "md5:00", `sha256:${"a".repeat(63)}`, `sha256:${"a".repeat(64)}/`, `sha512:${"a".repeat(64)}`]) {
      await assert.rejects(store.has(bad), InvalidArgumentError, bad);
      await assert.rejects(store.readBytes(bad), InvalidArgumentError, bad);
      await assert.rejects(store.delete(bad), InvalidArgumentError, bad);
    }
  });

  it("reports missing blobs as NotFoundError and deletes idempotently", async () => {
    const d = sha256Digest("never stored");
    assert.equal(await store.has(d), false);
    await assert.rejects(store.info(d), NotFoundError);
    await assert.rejects(store.readStream(d), NotFoundError);
    await assert.rejects(store.readBytes(d), NotFoundError);
    await assert.rejects(store.path(d), NotFoundError);
    const info = await store.put("to delete");
    await store.delete(info.digest);
    await store.delete(info.digest);
    assert.equal(await store.has(info.digest), false);
  });

  it("a failing source stream leaves nothing behind", async () => {
    async function* failing() {
      yield Buffer.from("partial");
      throw new Error("source died");
    }
    await assert.rejects(store.ingest(Readable.from(failing())), /source died/);
    assert.deepEqual(await readdir(join(root, "ingest")), []);
  });

  it("open() removes temp files a killed process left", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wharf-test-content-"));
    try {
      await mkdir(join(dir, "ingest"), { recursive: true });
      await writeFile(join(dir, "ingest", "leftover"), "half");
      const s = await LocalContentStore.open(dir);
      assert.deepEqual(await readdir(join(dir, "ingest")), []);
      assert.deepEqual(await s.list(), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("decompressed", () => {
  it("passes plain data through and gunzips gzip data", async () => {
    const data = Buffer.alloc(300_000, "x");
    const plain = await decompressed(Readable.from([data]));
    assert.equal(plain.compression, "none");
    assert.deepEqual(await readAll(plain.stream), data);
    const gz = gzipSync(data);
    const unz = await decompressed(Readable.from([gz.subarray(0, 1), gz.subarray(1, 4), gz.subarray(4)]));
    assert.equal(unz.compression, "gzip");
    assert.deepEqual(await readAll(unz.stream), data);
  });
  it("handles tiny and empty streams", async () => {
    assert.deepEqual(await readAll((await decompressed(Readable.from([Buffer.from("ab")]))).stream), Buffer.from("ab"));
    assert.deepEqual(await readAll((await decompressed(Readable.from([]))).stream), Buffer.alloc(0));
  });
});

describe("tarEntries", () => {
  it("reports garbage as InvalidArgumentError", async () => {
    const { tarEntries } = await import("./tar-entries.js");
    const garbage = Buffer.alloc(2048, 0x41);
    await assert.rejects(
      (async () => {
        for await (const e of tarEntries(Readable.from([garbage]))) e.stream.resume();
      })(),
      InvalidArgumentError,
    );
  });
});
