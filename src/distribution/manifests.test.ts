import assert from "node:assert/strict";
import { test } from "node:test";
import { MediaTypes } from "../image/media-types.js";
import { parseManifest } from "./manifests.js";
import { registryCodeOf } from "./registry-errors.js";

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, extra: object = {}) => ({ mediaType, digest: d(c), size: 1, ...extra });
const body = (v: unknown) => Buffer.from(JSON.stringify(v));
const image = {
  schemaVersion: 2,
  mediaType: MediaTypes.ociManifest,
  config: desc(MediaTypes.ociConfig, "a"),
  layers: [desc(MediaTypes.ociLayerGzip, "b"), desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "c", { urls: ["https://example.invalid/x"] })],
};

test("an image manifest: config and distributable layers are required, foreign ones are not", () => {
  const p = parseManifest(body(image), MediaTypes.ociManifest);
  assert.equal(p.kind, "manifest");
  assert.deepEqual(p.blobs, [d("a"), d("b")]);
  assert.deepEqual(p.externalBlobs, [d("c")]);
  assert.equal(p.artifactType, MediaTypes.ociConfig);
});

test("indexes list children; subject and artifactType are kept", () => {
  const p = parseManifest(
    body({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, artifactType: "application/x.sig", subject: desc(MediaTypes.ociManifest, "e"), manifests: [desc(MediaTypes.ociManifest, "d")], annotations: { k: "v" } }),
    undefined,
  );
  assert.deepEqual([p.kind, p.children, p.subject, p.artifactType, p.annotations], ["index", [d("d")], d("e"), "application/x.sig", { k: "v" }]);
  const list = parseManifest(body({ schemaVersion: 2, mediaType: MediaTypes.dockerManifestList, manifests: [desc(MediaTypes.dockerManifest, "f")] }), "application/json");
  assert.equal(list.mediaType, MediaTypes.dockerManifestList);
});

test("media type: Content-Type first, the body's must agree, OCI shape inferred", () => {
  const { mediaType: _omit, ...bare } = image;
  assert.equal(parseManifest(body(bare), undefined).mediaType, MediaTypes.ociManifest);
  assert.equal(parseManifest(body({ schemaVersion: 2, manifests: [] }), "").mediaType, MediaTypes.ociIndex);
  assert.equal(parseManifest(body(bare), `${MediaTypes.dockerManifest}; charset=utf-8`).mediaType, MediaTypes.dockerManifest);
});

test("MANIFEST_INVALID for the rest", () => {
  const invalid = (b: Buffer, ct?: string) => assert.throws(() => parseManifest(b, ct), (e) => registryCodeOf(e) === "MANIFEST_INVALID");
  invalid(Buffer.from("{nope"));
  invalid(body([1]));
  invalid(body(image), "application/vnd.example.unknown+json");
  invalid(body(image), MediaTypes.dockerManifest);
  invalid(body({ ...image, mediaType: "application/vnd.docker.distribution.manifest.v1+prettyjws" }));
  invalid(body({ ...image, schemaVersion: 1 }));
  invalid(body({ ...image, config: { digest: d("a") } }));
  invalid(body({ ...image, layers: {} }));
  invalid(body({ schemaVersion: 2 }));
  assert.throws(() => parseManifest(body({ ...image, layers: [desc(MediaTypes.ociLayer, "Z")] }), undefined), (e) => registryCodeOf(e) === "DIGEST_INVALID");
});
