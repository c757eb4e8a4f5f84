import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import { LocalContentStore } from "../content/local-content-store.js";
import { sha256Digest } from "../content/digest.js";
import { LocalImageStore } from "./local-image-store.js";
import { commitImage } from "./commit.js";
import { importRootfs } from "./archive.js";
import type { ImageConfig } from "./image-store.js";

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mtime: new Date(0) }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

describe("LocalImageStore", () => {
  let root: string;
  let content: LocalContentStore;
  let images: LocalImageStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wharf-test-images-"));
    content = await LocalContentStore.open(join(root, "content"));
    images = await LocalImageStore.open(join(root, "image"), content);
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function makeImage(files: Record<string, string>, extra: Partial<ImageConfig> = {}) {
    const layerBytes = await tarOf(files);
    const blob = await content.put(layerBytes);
    const config: ImageConfig = {
      architecture: "amd64",
      os: "linux",
      created: "2024-01-02T03:04:05Z",
      config: { Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: [blob.digest] },
      history: [{ created: "2024-01-02T03:04:05Z", created_by: "ADD files" }],
      ...extra,
    };
    return images.create({ config, layers: [{ digest: blob.digest, diffId: blob.digest, size: blob.size, mediaType: "application/vnd.oci.image.layer.v1.tar" }] });
  }

  it("creates, tags, resolves and untags images", async () => {
    const img = await makeImage({ a: "1" });
    assert.match(img.id, /^sha256:[a-f0-9]{64}$/);
    assert.equal(img.id, sha256Digest(await content.readBytes(img.id)));
    assert.deepEqual(img.repoTags, []);
    await images.tag(img.id, "busybox");
    await images.tag(img.id, "localhost:5000/x:1");
    const rec = await images.get("busybox:latest");
    assert.equal(rec.id, img.id);
    assert.deepEqual(rec.repoTags, ["busybox:latest", "localhost:5000/x:1"]);
    for (const ref of ["busybox", "docker.io/library/busybox:latest", img.id, img.id.slice(7), img.id.slice(7, 19), `sha256:${img.id.slice(7, 15)}`, "localhost:5000/x:1"]) {
      assert.equal((await images.get(ref)).id, img.id, ref);
    }
    await assert.rejects(images.get("busybox:nope"), (err: unknown) => err instanceof NotFoundError && err.message === "No such image: busybox:nope");
    await assert.rejects(images.get("sha256:" + "0".repeat(64)), NotFoundError);
    await assert.rejects(images.get("Upper/Case"), InvalidArgumentError);
    assert.equal(await images.untag("localhost:5000/x:1"), img.id);
    await assert.rejects(images.untag("localhost:5000/x:1"), NotFoundError);
    assert.deepEqual((await images.get(img.id)).repoTags, ["busybox:latest"]);
    // A repo digest is a reference too.
    const digest = sha256Digest("a manifest");
    await images.tag(img.id, `busybox@${digest}`);
    assert.deepEqual((await images.get(`busybox@${digest}`)).repoDigests, [`busybox@${digest}`]);
  });

  it("moves a tag from the previous image and reports ambiguous prefixes", async () => {
    const a = await makeImage({ b: "1" });
    const b = await makeImage({ b: "2" });
    await images.tag(a.id, "app:1");
    await images.tag(b.id, "app:1");
    assert.equal((await images.get("app:1")).id, b.id);
    assert.deepEqual((await images.get(a.id)).repoTags, []);
    // Some one-hex-digit prefix is shared by two of the images now stored (16 digits, ≥ 3 images)…
    const all = await images.list();
    const byFirst = new Map<string, number>();
    for (const i of all) byFirst.set(i.id[7]!, (byFirst.get(i.id[7]!) ?? 0) + 1);
    const shared = [...byFirst].find(([, n]) => n > 1);
    if (shared) await assert.rejects(images.get(shared[0]), InvalidArgumentError);
  });

  it("persists across reopen and keeps tags consistent", async () => {
    const img = await makeImage({ persist: "yes" });
    await images.tag(img.id, "persist:me");
    const again = await LocalImageStore.open(join(root, "image"), content);
    const rec = await again.get("persist:me");
    assert.equal(rec.id, img.id);
    assert.deepEqual(rec.config.config?.Cmd, ["sh"]);
    assert.deepEqual(rec.layers, img.layers);
    // No temp files are left next to the metadata.
    assert.deepEqual((await readdir(join(root, "image", "images"))).filter((n) => n.startsWith(".tmp")), []);
  });

  it("commits on a parent: layers, history, empty_layer, parent and history rows", async () => {
    const base = await makeImage({ base: "1" });
    const c1 = await commitImage(images, base.id, Readable.from([await tarOf({ added: "x" })]), {
      changes: { Env: ["A=1"] },
      author: "me",
      comment: "first",
      createdBy: "/bin/sh -c touch added",
      ref: "committed:1",
    });
    assert.equal(c1.parent, base.id);
    assert.equal(c1.layers.length, 2);
    assert.deepEqual(c1.layers[0], base.layers[0]);
    assert.deepEqual(c1.config.rootfs.diff_ids, [base.layers[0]!.diffId, c1.layers[1]!.diffId]);
    assert.deepEqual(c1.config.config?.Env, ["A=1"]);
    assert.deepEqual(c1.config.config?.Cmd, ["sh"]);
    assert.equal(c1.config.author, "me");
    assert.equal(c1.config.history?.length, 2);
    assert.deepEqual(c1.repoTags, ["committed:1"]);
    const c2 = await commitImage(images, c1.id, null, { changes: { Cmd: ["echo", "hi"] }, createdBy: '/bin/sh -c #(nop) CMD ["echo","hi"]' });
    assert.equal(c2.layers.length, 2);
    assert.equal(c2.config.history?.[2]?.empty_layer, true);
    assert.deepEqual(c2.config.config?.Cmd, ["echo", "hi"]);
    const rows = await images.history(c2.id);
    assert.equal(rows.length, 3);
    assert.equal(rows[0]!.id, c2.id);
    assert.equal(rows[0]!.size, 0);
    assert.equal(rows[1]!.id, c1.id);
    assert.deepEqual(rows[1]!.tags, ["committed:1"]);
    assert.equal(rows[1]!.comment, "first");
    assert.equal(rows[2]!.id, base.id);
    assert.equal(rows[2]!.createdBy, "ADD files");
    assert.deepEqual((await images.children(c1.id)).map((i) => i.id), [c2.id]);
    const scratch = await commitImage(images, null, Readable.from([await tarOf({ only: "me" })]), {});
    assert.equal(scratch.layers.length, 1);
    assert.equal(scratch.parent, undefined);
  });

  it("imports a gzip'd rootfs as a one-layer image", async () => {
    const rootfs = await tarOf({ "bin/x": "x" });
    const img = await importRootfs(images, Readable.from([gzipSync(rootfs)]), { ref: "imported:v1", changes: { Cmd: ["/bin/x"] }, message: "hello" });
    assert.deepEqual(img.repoTags, ["imported:v1"]);
    assert.equal(img.layers.length, 1);
    assert.equal(img.layers[0]!.diffId, sha256Digest(rootfs));
    assert.notEqual(img.layers[0]!.digest, img.layers[0]!.diffId);
    assert.equal(img.layers[0]!.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert.equal(img.layers[0]!.uncompressedSize, rootfs.length);
    assert.deepEqual(img.config.config?.Cmd, ["/bin/x"]);
    assert.equal(img.config.history?.[0]?.comment, "hello");
  });

  it("refuses configs that do not match their layers", async () => {
    const blob = await content.put(await tarOf({ z: "z" }));
    const layer = { digest: blob.digest, diffId: blob.digest, size: blob.size, mediaType: "application/vnd.oci.image.layer.v1.tar" };
    await assert.rejects(images.create({ config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }, layers: [layer] }), InvalidArgumentError);
    await assert.rejects(images.create({ config: Buffer.from("{not json"), layers: [] }), InvalidArgumentError);
    const missing = sha256Digest("missing layer");
    await assert.rejects(
      images.create({ config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [missing] } }, layers: [{ ...layer, digest: missing, diffId: missing }] }),
      NotFoundError,
    );
  });

  it("deletes images and garbage-collects unreferenced blobs only", async () => {
    const img = await makeImage({ gc: "me" });
    await images.tag(img.id, "gc:me");
    const keep = await images.get("persist:me");
    const removed = await images.delete("gc:me");
    assert.equal(removed.id, img.id);
    assert.deepEqual(removed.repoTags, ["gc:me"]);
    await assert.rejects(images.get("gc:me"), NotFoundError);
    await assert.rejects(images.get(img.id), NotFoundError);
    const { deleted } = await images.gcBlobs();
    assert.ok(deleted.includes(img.id));
    assert.ok(deleted.includes(img.layers[0]!.digest));
    assert.ok(await content.has(keep.id));
    assert.ok(await content.has(keep.layers[0]!.digest));
    // A blob being ingested under hold() survives a concurrent GC.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const held = images.hold(async () => {
      const b = await content.put(await tarOf({ inflight: "1" }));
      await gate;
      // Until here nothing references the blob: a GC that did not wait would have deleted it.
      return images.create({
        config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [b.digest] } },
        layers: [{ digest: b.digest, diffId: b.digest, size: b.size, mediaType: "application/vnd.oci.image.layer.v1.tar" }],
      });
    });
    await new Promise((r) => setTimeout(r, 10));
    const gc = images.gcBlobs();
    release();
    const rec = await held;
    await gc;
    assert.ok(await content.has(rec.layers[0]!.digest));
    assert.ok(await content.has(rec.id));
  });
});
