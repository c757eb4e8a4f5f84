/**
 * docker-archive and OCI-layout archives: save → load round trips, gzip'd
 * layers and archives, corrupt archives.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import tar from "tar-stream";
import { InvalidArgumentError } from "../src/lib/errors.js";
import { LocalContentStore } from "../src/content/index.js";
import { LocalImageStore, commitImage, loadImages, saveImages } from "../src/image/index.js";

const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name, mtime: new Date(0) }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function openStores(dir: string) {
  const content = await LocalContentStore.open(join(dir, "content"));
  return { content, images: await LocalImageStore.open(join(dir, "image"), content) };
}

function configFor(diffIds: string[]) {
  return JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "2024-05-06T07:08:09Z",
    config: { Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: diffIds.map((d) => `sha256:${d}`) },
    history: diffIds.map(() => ({ created: "2024-05-06T07:08:09Z", created_by: "test" })),
  });
}

describe("storage: image archives", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wharf-test-archive-"));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("save → load keeps IDs, tags and shared layers", async () => {
    const a = await openStores(join(root, "a"));
    const l1 = await tarOf({ "base.txt": "base" });
    const cfg = configFor([sha(l1)]);
    const archive = await tarOf({
      [`${sha(cfg)}.json`]: cfg,
      [`${sha(l1)}/layer.tar`]: l1,
      "manifest.json": JSON.stringify([{ Config: `${sha(cfg)}.json`, RepoTags: ["base:1"], Layers: [`${sha(l1)}/layer.tar`] }]),
    });
    const loaded = await loadImages(a.images, Readable.from([archive]));
    assert.deepEqual(loaded.loaded, ["Loaded image: base:1"]);
    const base = loaded.images[0]!;
    assert.equal(base.id, `sha256:${sha(cfg)}`);
    const child = await commitImage(a.images, base.id, Readable.from([await tarOf({ "child.txt": "child" })]), { ref: "child:latest" });
    await a.images.tag(child.id, "localhost:5000/child:v2");

    const saved = await collect(await saveImages(a.images, ["base:1", "child", child.id]));
    // GNU tar reads it; it is a docker-archive and an OCI layout at once, like Docker 25+'s.
    const savedPath = join(root, "saved.tar");
    await writeFile(savedPath, saved);
    const names = execFileSync("tar", ["-tf", savedPath], { encoding: "utf8" }).trim().split("\n");
    for (const n of ["manifest.json", "repositories", "index.json", "oci-layout", `blobs/sha256/${child.id.slice(7)}`]) assert.ok(names.includes(n), n);
    // 2 configs, 2 layers (the shared base layer once), 2 manifests.
    assert.equal(names.filter((n) => /^blobs\/sha256\/[a-f0-9]{64}$/.test(n)).length, 6);
    const manifest = JSON.parse(execFileSync("tar", ["-xOf", savedPath, "manifest.json"], { encoding: "utf8" })) as { RepoTags: string[] | null; Layers: string[] }[];
    assert.deepEqual(manifest.map((m) => m.RepoTags), [["base:1"], ["child:latest"]]);
    assert.ok(manifest.every((m) => m.Layers.every((l) => names.includes(l))));
    const index = JSON.parse(execFileSync("tar", ["-xOf", savedPath, "index.json"], { encoding: "utf8" })) as { manifests: { annotations?: Record<string, string> }[] };
    assert.deepEqual(index.manifests.map((m) => m.annotations?.["io.containerd.image.name"]), ["docker.io/library/base:1", "docker.io/library/child:latest"]);
    // An OCI reader that never looks at manifest.json finds the image by its tag (the OCI ref.name).
    const skopeoSays = execFileSync("skopeo", ["inspect", "--config", `oci-archive:${savedPath}:latest`], { encoding: "utf8" });
    assert.deepEqual((JSON.parse(skopeoSays) as { rootfs: { diff_ids: string[] } }).rootfs.diff_ids, child.layers.map((l) => l.diffId));

    const b = await openStores(join(root, "b"));
    const back = await loadImages(b.images, Readable.from([saved]));
    assert.deepEqual(back.loaded, ["Loaded image: base:1", "Loaded image: child:latest"]);
    assert.equal((await b.images.get("base:1")).id, base.id);
    const child2 = await b.images.get("child");
    assert.equal(child2.id, child.id);
    assert.deepEqual(child2.layers.map((l) => l.diffId), child.layers.map((l) => l.diffId));
    // Saving by ID writes no tag; saving a bare repo name takes all its tags.
    const byId = await collect(await saveImages(a.images, [child.id]));
    const c = await openStores(join(root, "c"));
    const r = await loadImages(c.images, Readable.from([gzipSync(byId)]));
    assert.deepEqual(r.loaded, [`Loaded image ID: ${child.id}`]);
    const byRepo = await collect(await saveImages(a.images, ["localhost:5000/child"]));
    const d = await openStores(join(root, "d"));
    assert.deepEqual((await loadImages(d.images, Readable.from([byRepo]))).loaded, ["Loaded image: localhost:5000/child:v2"]);
    await assert.rejects(saveImages(a.images, ["nope:1"]), /No such image: nope:1/);
  });

  it("loads gzip'd layers (docker-archive) and computes diffIDs from the uncompressed data", async () => {
    const s = await openStores(join(root, "gz"));
    const layer = await tarOf({ "hello.txt": "hello" });
    const gz = gzipSync(layer);
    const cfg = configFor([sha(layer)]);
    const archive = await tarOf({
      "manifest.json": JSON.stringify([{ Config: "config.json", RepoTags: ["gz:1"], Layers: ["layer.tar.gz"] }]),
      "config.json": cfg,
      "layer.tar.gz": gz,
    });
    const r = await loadImages(s.images, Readable.from([archive]));
    const img = r.images[0]!;
    assert.equal(img.layers[0]!.digest, `sha256:${sha(gz)}`);
    assert.equal(img.layers[0]!.diffId, `sha256:${sha(layer)}`);
    assert.equal(img.layers[0]!.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    assert.equal(img.layers[0]!.uncompressedSize, layer.length);
  });

  it("loads an OCI image layout with a nested index and names from annotations", async () => {
    const s = await openStores(join(root, "oci"));
    const layer = await tarOf({ "oci.txt": "oci" });
    const gz = gzipSync(layer);
    const cfg = configFor([sha(layer)]);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${sha(cfg)}`, size: cfg.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: `sha256:${sha(gz)}`, size: gz.length }],
    });
    const inner = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${sha(manifest)}`, size: manifest.length, platform: { architecture: "amd64", os: "linux" } },
      ],
    });
    const index = JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.index.v1+json",
          digest: `sha256:${sha(inner)}`,
          size: inner.length,
          annotations: { "io.containerd.image.name": "docker.io/library/ocitest:2", "org.opencontainers.image.ref.name": "2" },
        },
      ],
    });
    const archive = await tarOf({
      "oci-layout": '{"imageLayoutVersion":"1.0.0"}',
      "index.json": index,
      [`blobs/sha256/${sha(cfg)}`]: cfg,
      [`blobs/sha256/${sha(gz)}`]: gz,
      [`blobs/sha256/${sha(manifest)}`]: manifest,
      [`blobs/sha256/${sha(inner)}`]: inner,
    });
    const r = await loadImages(s.images, Readable.from([archive]));
    assert.deepEqual(r.loaded, ["Loaded image: ocitest:2"]);
    assert.equal(r.images[0]!.id, `sha256:${sha(cfg)}`);
    assert.equal(r.images[0]!.layers[0]!.diffId, `sha256:${sha(layer)}`);
  });

  it("refuses corrupt archives and tags nothing", async () => {
    const s = await openStores(join(root, "bad"));
    const layer = await tarOf({ "a.txt": "a" });
    const wrong = configFor([sha("not the layer")]);
    const archive = await tarOf({
      "manifest.json": JSON.stringify([{ Config: "c.json", RepoTags: ["bad:1"], Layers: ["l/layer.tar"] }]),
      "c.json": wrong,
      "l/layer.tar": layer,
    });
    await assert.rejects(loadImages(s.images, Readable.from([archive])), InvalidArgumentError);
    assert.deepEqual(await s.images.list(), []);
    // A blob whose content does not match its OCI path digest.
    const lying = await tarOf({ "index.json": '{"manifests":[]}', [`blobs/sha256/${sha("x")}`]: "not x" });
    await assert.rejects(loadImages(s.images, Readable.from([lying])), InvalidArgumentError);
    await assert.rejects(loadImages(s.images, Readable.from([await tarOf({ "hello.txt": "no manifest" })])), InvalidArgumentError);
    // Missing layer file.
    const missing = await tarOf({ "manifest.json": JSON.stringify([{ Config: "c.json", RepoTags: ["bad:2"], Layers: ["gone/layer.tar"] }]), "c.json": wrong });
    await assert.rejects(loadImages(s.images, Readable.from([missing])), InvalidArgumentError);
    assert.deepEqual(await s.images.list(), []);
    const { deleted } = await s.images.gcBlobs();
    assert.ok(deleted.length > 0);
    assert.deepEqual(await s.content.list(), []);
  });
});
