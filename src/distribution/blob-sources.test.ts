import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileBlobSources } from "./blob-sources.js";

const a = `sha256:${"a".repeat(64)}` as const;
const b = `sha256:${"b".repeat(64)}` as const;

test("remember keeps the most recent repository first, survives a reopen, and forget drops deleted blobs", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wharf-blobsrc-"));
  try {
    const s = await FileBlobSources.open(dir);
    await s.remember("localhost:5000", "one", [a, b]);
    await s.remember("localhost:5000", "two", [a]);
    assert.deepEqual(s.sources(a), ["localhost:5000/two", "localhost:5000/one"]);
    await s.forget([a]);
    const again = await FileBlobSources.open(dir);
    assert.deepEqual(again.sources(a), []);
    assert.deepEqual(again.sources(b), ["localhost:5000/one"]);
    assert.deepEqual(Object.keys(JSON.parse(await readFile(join(dir, "blob-sources.json"), "utf8")) as object), [b]);
    // A corrupt file costs only mounts: it opens empty.
    await writeFile(join(dir, "blob-sources.json"), "{not json");
    assert.deepEqual((await FileBlobSources.open(dir)).sources(b), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
