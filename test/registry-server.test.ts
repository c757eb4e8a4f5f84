/**
 * `wharf registry` end to end: raw HTTP round trips for every endpoint and
 * error of the distribution spec (in-process server, real sockets), then
 * skopeo pushing and pulling an OCI layout through the real verb in a child
 * process (no auth, Basic, bearer tokens), gc, and kill -9 mid-upload.
 * Everything listens on 127.0.0.1; temp roots and child PIDs are cleaned up
 * even when a test fails.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { request as httpRequest, type ClientRequest } from "node:http";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, describe, test } from "node:test";
import bcrypt from "bcryptjs";
import { startRegistryServer } from "../src/distribution/start-registry.js";
import type { RegistryAuth, RegistryServer } from "../src/distribution/registry-server.js";
import { MediaTypes } from "../src/image/media-types.js";
import { busyboxTar, ChildRegistry, cleanupTempDirs, http, repoRoot, stopChildRegistries, tempDir, type Reply } from "./support/registry.js";

const run = promisify(execFile);

after(async () => {
  await stopChildRegistries();
  await cleanupTempDirs();
});

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function inProcess(auth: RegistryAuth = { kind: "none" }, extra: { tls?: { cert: string; key: string } } = {}): Promise<{ srv: RegistryServer; root: string; url: string }> {
  const root = await tempDir("wharf-registry-");
  const srv = await startRegistryServer({ addr: { host: "127.0.0.1", port: 0 }, root, auth, maxManifestBytes: 64 * 1024, ...extra });
  return { srv, root, url: srv.url };
}

/** Pushes a blob monolithically; returns its digest. */
async function pushBlob(url: string, name: string, data: Buffer | string, headers: Record<string, string> = {}): Promise<string> {
  const digest = sha(data);
  const r = await http("POST", `${url}/v2/${name}/blobs/uploads/?digest=${digest}`, { body: data, headers: { "Content-Type": "application/octet-stream", ...headers } });
  assert.equal(r.status, 201, r.body.toString());
  return digest;
}

/** A small OCI image (config + one layer) pushed to `name:tag`; returns the manifest bytes and digests. */
async function pushImage(url: string, name: string, tag: string, seed = randomBytes(8).toString("hex"), extraLayers: Array<{ digest: string; size: number }> = []) {
  const layer = Buffer.from(`layer ${seed}`);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha(layer)] }, seed }));
  const layerDigest = await pushBlob(url, name, layer);
  const configDigest = await pushBlob(url, name, config);
  // Odd spacing on purpose: the registry must hand back these exact bytes.
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: config.length },
        layers: [...extraLayers.map((l) => ({ mediaType: MediaTypes.ociLayer, ...l })), { mediaType: MediaTypes.ociLayer, digest: layerDigest, size: layer.length }],
      },
      null,
      3,
    ) + "\n",
  );
  const r = await http("PUT", `${url}/v2/${name}/manifests/${tag}`, { body: manifest, headers: { "Content-Type": MediaTypes.ociManifest } });
  assert.equal(r.status, 201, r.body.toString());
  return { manifest, digest: sha(manifest), layerDigest, configDigest, layerSize: layer.length };
}

function assertError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, `${r.status} ${r.body.toString()}`);
  // A HEAD answer has the error's status and headers but no body to carry the code.
  if (r.method !== "HEAD") assert.equal(r.code(), code, r.body.toString());
  assert.match(String(r.headers["content-type"]), /application\/json/);
}

/** A PATCH whose body the test feeds by hand (to disconnect or crash mid-way). */
function openPatch(url: string, headers: Record<string, string> = {}): { req: ClientRequest; done: Promise<number> } {
  let req!: ClientRequest;
  const done = new Promise<number>((ok) => {
    req = httpRequest(url, { method: "PATCH", agent: false, headers: { "Content-Type": "application/octet-stream", ...headers } }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    });
    req.on("error", () => ok(-1));
  });
  return { req, done };
}

async function until(what: string, cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function blobFiles(root: string): Promise<string[]> {
  return (await readdir(join(root, "blobs", "sha256")).catch(() => [] as string[])).filter((n) => /^[a-f0-9]{64}$/.test(n)).map((h) => `sha256:${h}`).sort();
}

describe("base and routing", () => {
  test("GET /v2/ answers with the API version header; unknown routes and methods are spec errors", async () => {
    const { srv, url } = await inProcess();
    try {
      const r = await http("GET", `${url}/v2/`);
      assert.equal(r.status, 200);
      assert.equal(r.headers["docker-distribution-api-version"], "registry/2.0");
      assert.deepEqual(r.json(), {});
      assert.equal((await http("GET", `${url}/v2`)).status, 200);
      assertError(await http("GET", `${url}/v2/x/nothing/here`), 404, "UNSUPPORTED");
      assertError(await http("GET", `${url}/elsewhere`), 404, "UNSUPPORTED");
      const post = await http("POST", `${url}/v2/x/tags/list`);
      assertError(post, 405, "UNSUPPORTED");
      assert.equal(post.headers.allow, "GET");
    } finally {
      await srv.close();
    }
  });

  test("names and tags are validated; traversal never leaves the root", async () => {
    const { srv, url, root } = await inProcess();
    try {
      assertError(await http("GET", `${url}/v2/UPPER/tags/list`), 400, "NAME_INVALID");
      assertError(await http("GET", `${url}/v2/a/_blobs/tags/list`), 400, "NAME_INVALID");
      assertError(await http("PUT", `${url}/v2/ok/manifests/.hidden`, { body: "{}" }), 400, "TAG_INVALID");
      assertError(await http("GET", `${url}/v2/ok/blobs/sha256:..%2F..%2Fetc`), 400, "DIGEST_INVALID");
      assertError(await http("GET", `${url}/v2/ok/blobs/uploads/..%2F..%2Fregistry.pid`), 404, "BLOB_UPLOAD_UNKNOWN");
      for (const path of ["/v2/..%2F..%2F..%2Ftmp%2Fevil/blobs/uploads/", "/v2/a%2F..%2F..%2Fevil/blobs/uploads/", "/v2/%2e%2e/%2e%2e/evil/blobs/uploads/", "/v2/a/../../../evil/blobs/uploads/"]) {
        const r = await http("POST", `${url}${path}`);
        assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
      }
      assert.equal(existsSync(join(root, "..", "evil")), false);
      assert.equal(existsSync("/tmp/evil"), false);
      assert.deepEqual((await readdir(join(root, "repositories")).catch(() => [])).length, 0);
    } finally {
      await srv.close();
    }
  });
});

describe("blobs", () => {
  test("monolithic POST ?digest=, HEAD, GET, Range → 206, unsatisfiable → 416, DELETE", async () => {
    const { srv, url } = await inProcess();
    try {
      const data = randomBytes(1000);
      const digest = await pushBlob(url, "a/b", data);
      const head = await http("HEAD", `${url}/v2/a/b/blobs/${digest}`);
      assert.equal(head.status, 200);
      assert.equal(head.headers["content-length"], "1000");
      assert.equal(head.headers["docker-content-digest"], digest);
      assert.equal(head.body.length, 0);
      const get = await http("GET", `${url}/v2/a/b/blobs/${digest}`);
      assert.deepEqual(get.body, data);
      const part = await http("GET", `${url}/v2/a/b/blobs/${digest}`, { headers: { Range: "bytes=100-199" } });
      assert.equal(part.status, 206);
      assert.equal(part.headers["content-range"], "bytes 100-199/1000");
      assert.deepEqual(part.body, data.subarray(100, 200));
      const tail = await http("GET", `${url}/v2/a/b/blobs/${digest}`, { headers: { Range: "bytes=-10" } });
      assert.deepEqual([tail.status, tail.body], [206, data.subarray(990)]);
      const open = await http("GET", `${url}/v2/a/b/blobs/${digest}`, { headers: { Range: "bytes=900-" } });
      assert.deepEqual([open.status, open.body], [206, data.subarray(900)]);
      const bad = await http("GET", `${url}/v2/a/b/blobs/${digest}`, { headers: { Range: "bytes=1000-" } });
      assertError(bad, 416, "RANGE_INVALID");
      assert.equal(bad.headers["content-range"], "bytes */1000");
      // Another repository does not see the blob until it is mounted or pushed there.
      assertError(await http("HEAD", `${url}/v2/other/blobs/${digest}`), 404, "BLOB_UNKNOWN");
      assertError(await http("GET", `${url}/v2/other/blobs/${digest}`), 404, "BLOB_UNKNOWN");
      assert.equal((await http("DELETE", `${url}/v2/a/b/blobs/${digest}`)).status, 202);
      assertError(await http("GET", `${url}/v2/a/b/blobs/${digest}`), 404, "BLOB_UNKNOWN");
      assertError(await http("DELETE", `${url}/v2/a/b/blobs/${digest}`), 404, "BLOB_UNKNOWN");
    } finally {
      await srv.close();
    }
  });

  test("a monolithic upload with the wrong digest is DIGEST_INVALID and leaves nothing", async () => {
    const { srv, url, root } = await inProcess();
    try {
      const wrong = sha("something else");
      const r = await http("POST", `${url}/v2/a/blobs/uploads/?digest=${wrong}`, { body: "payload" });
      assertError(r, 400, "DIGEST_INVALID");
      assertError(await http("HEAD", `${url}/v2/a/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
      assertError(await http("HEAD", `${url}/v2/a/blobs/${sha("payload")}`), 404, "BLOB_UNKNOWN");
      assert.deepEqual(await blobFiles(root), []);
      assert.deepEqual(await readdir(join(root, "ingest")), []);
      assertError(await http("POST", `${url}/v2/a/blobs/uploads/?digest=md5:abc`, { body: "x" }), 400, "DIGEST_INVALID");
    } finally {
      await srv.close();
    }
  });
});

describe("upload sessions", () => {
  test("POST → PATCH (Content-Range, then streamed) → GET status → PUT with a final chunk", async () => {
    const { srv, url } = await inProcess();
    try {
      const data = randomBytes(3000);
      const start = await http("POST", `${url}/v2/a/blobs/uploads/`);
      assert.equal(start.status, 202);
      const id = start.headers["docker-upload-uuid"] as string;
      const loc = start.headers.location as string;
      assert.equal(loc, `/v2/a/blobs/uploads/${id}`);
      assert.equal(start.headers.range, "0-0");
      const p1 = await http("PATCH", `${url}${loc}`, { body: data.subarray(0, 1000), headers: { "Content-Range": "0-999", "Content-Type": "application/octet-stream" } });
      assert.equal(p1.status, 202);
      assert.equal(p1.headers.range, "0-999");
      assert.equal(p1.headers["docker-upload-uuid"], id);
      // A chunk that does not start where the upload is: 416, with where it is.
      const dup = await http("PATCH", `${url}${loc}`, { body: data.subarray(0, 1000), headers: { "Content-Range": "0-999" } });
      assertError(dup, 416, "RANGE_INVALID");
      assert.equal(dup.headers.range, "0-999");
      assert.equal(dup.headers.location, loc);
      assertError(await http("PATCH", `${url}${loc}`, { body: "x", headers: { "Content-Range": "garbage" } }), 416, "RANGE_INVALID");
      assertError(await http("PATCH", `${url}${loc}`, { body: "xy", headers: { "Content-Range": "1000-1009" } }), 416, "RANGE_INVALID");
      // A chunked body longer than its Content-Range: the range's bytes are kept, the rest refused.
      const long = await http("POST", `${url}/v2/a/blobs/uploads/`);
      const over = await http("PATCH", `${url}${long.headers.location}`, { body: "0123456789", headers: { "Content-Range": "0-3", "Transfer-Encoding": "chunked" } });
      assertError(over, 400, "BLOB_UPLOAD_INVALID");
      assert.equal((await http("GET", `${url}${long.headers.location}`)).headers.range, "0-3");
      // Streamed chunk, no Content-Range (what docker push sends).
      const p2 = await http("PATCH", `${url}${loc}`, { body: data.subarray(1000, 2000) });
      assert.equal(p2.headers.range, "0-1999");
      const status = await http("GET", `${url}${loc}`);
      assert.deepEqual([status.status, status.headers.range, status.headers["docker-upload-uuid"]], [204, "0-1999", id]);
      const done = await http("PUT", `${url}${loc}?digest=${sha(data)}`, { body: data.subarray(2000), headers: { "Content-Range": "2000-2999" } });
      assert.equal(done.status, 201, done.body.toString());
      assert.equal(done.headers.location, `/v2/a/blobs/${sha(data)}`);
      assert.equal(done.headers["docker-content-digest"], sha(data));
      assert.deepEqual((await http("GET", `${url}/v2/a/blobs/${sha(data)}`)).body, data);
      assertError(await http("GET", `${url}${loc}`), 404, "BLOB_UPLOAD_UNKNOWN");
    } finally {
      await srv.close();
    }
  });

  test("PUT with a wrong digest is DIGEST_INVALID: nothing visible, session gone; PUT without one changes nothing", async () => {
    const { srv, url, root } = await inProcess();
    try {
      const loc = (await http("POST", `${url}/v2/a/blobs/uploads/`)).headers.location as string;
      await http("PATCH", `${url}${loc}`, { body: "some bytes" });
      assertError(await http("PUT", `${url}${loc}`), 400, "DIGEST_INVALID");
      assert.equal((await http("GET", `${url}${loc}`)).headers.range, "0-9", "a PUT without digest keeps the session");
      const wrong = sha("other bytes");
      assertError(await http("PUT", `${url}${loc}?digest=${wrong}`), 400, "DIGEST_INVALID");
      assertError(await http("HEAD", `${url}/v2/a/blobs/${wrong}`), 404, "BLOB_UNKNOWN");
      assertError(await http("HEAD", `${url}/v2/a/blobs/${sha("some bytes")}`), 404, "BLOB_UNKNOWN");
      assert.deepEqual(await blobFiles(root), []);
      assertError(await http("GET", `${url}${loc}`), 404, "BLOB_UPLOAD_UNKNOWN");
    } finally {
      await srv.close();
    }
  });

  test("DELETE cancels; a session belongs to its repository", async () => {
    const { srv, url } = await inProcess();
    try {
      const start = await http("POST", `${url}/v2/a/blobs/uploads/`);
      const id = start.headers["docker-upload-uuid"] as string;
      assertError(await http("GET", `${url}/v2/b/blobs/uploads/${id}`), 404, "BLOB_UPLOAD_UNKNOWN");
      assertError(await http("PATCH", `${url}/v2/b/blobs/uploads/${id}`, { body: "x" }), 404, "BLOB_UPLOAD_UNKNOWN");
      assert.equal((await http("DELETE", `${url}/v2/a/blobs/uploads/${id}`)).status, 204);
      assertError(await http("PATCH", `${url}/v2/a/blobs/uploads/${id}`, { body: "x" }), 404, "BLOB_UPLOAD_UNKNOWN");
      assertError(await http("DELETE", `${url}/v2/a/blobs/uploads/${id}`), 404, "BLOB_UPLOAD_UNKNOWN");
    } finally {
      await srv.close();
    }
  });

  test("resumable after a client disconnect: the bytes received so far stay", async () => {
    const { srv, url } = await inProcess();
    try {
      const data = randomBytes(256 * 1024);
      const loc = (await http("POST", `${url}/v2/a/blobs/uploads/`)).headers.location as string;
      const { req, done } = openPatch(`${url}${loc}`);
      req.write(data.subarray(0, 100_000));
      await until("the first bytes to arrive", async () => (await http("GET", `${url}${loc}`)).headers.range === "0-99999");
      req.destroy();
      assert.equal(await done, -1);
      await until("the session to settle", async () => (await http("GET", `${url}${loc}`)).status === 204);
      const status = await http("GET", `${url}${loc}`);
      assert.equal(status.headers.range, "0-99999");
      const rest = await http("PATCH", `${url}${loc}`, { body: data.subarray(100_000), headers: { "Content-Range": `100000-${data.length - 1}` } });
      assert.equal(rest.status, 202);
      assert.equal((await http("PUT", `${url}${loc}?digest=${sha(data)}`)).status, 201);
      assert.deepEqual((await http("GET", `${url}/v2/a/blobs/${sha(data)}`)).body, data);
    } finally {
      await srv.close();
    }
  });

  test("cross-repository mount: 201 when the source has it, else an upload session", async () => {
    const { srv, url } = await inProcess();
    try {
      const digest = await pushBlob(url, "src/repo", "shared layer");
      const m = await http("POST", `${url}/v2/dst/blobs/uploads/?mount=${digest}&from=src/repo`);
      assert.equal(m.status, 201);
      assert.equal(m.headers.location, `/v2/dst/blobs/${digest}`);
      assert.equal(m.headers["docker-content-digest"], digest);
      assert.equal((await http("GET", `${url}/v2/dst/blobs/${digest}`)).body.toString(), "shared layer");
      const missing = await http("POST", `${url}/v2/dst2/blobs/uploads/?mount=${sha("nope")}&from=src/repo`);
      assert.equal(missing.status, 202);
      assert.ok(missing.headers["docker-upload-uuid"]);
      const wrongSource = await http("POST", `${url}/v2/dst3/blobs/uploads/?mount=${digest}&from=elsewhere`);
      assert.equal(wrongSource.status, 202);
      assertError(await http("POST", `${url}/v2/dst4/blobs/uploads/?mount=${digest}&from=BAD`), 400, "NAME_INVALID");
    } finally {
      await srv.close();
    }
  });
});

describe("manifests", () => {
  test("PUT by tag, GET/HEAD by tag and digest return the stored bytes, type and digest", async () => {
    const { srv, url } = await inProcess();
    try {
      const img = await pushImage(url, "app", "v1");
      const get = await http("GET", `${url}/v2/app/manifests/v1`, { headers: { Accept: `${MediaTypes.dockerManifest}, ${MediaTypes.ociManifest}` } });
      assert.equal(get.status, 200);
      assert.deepEqual(get.body, img.manifest);
      assert.equal(get.headers["content-type"], MediaTypes.ociManifest);
      assert.equal(get.headers["docker-content-digest"], img.digest);
      const head = await http("HEAD", `${url}/v2/app/manifests/v1`);
      assert.deepEqual([head.status, head.headers["content-length"], head.headers["docker-content-digest"], head.body.length], [200, String(img.manifest.length), img.digest, 0]);
      const byDigest = await http("GET", `${url}/v2/app/manifests/${img.digest}`, { headers: { Accept: MediaTypes.dockerManifest } });
      assert.deepEqual([byDigest.status, byDigest.body], [200, img.manifest], "by digest the bytes are served whatever Accept says");
      assertError(await http("GET", `${url}/v2/app/manifests/v1`, { headers: { Accept: MediaTypes.dockerManifest } }), 404, "MANIFEST_UNKNOWN");
      assert.equal((await http("GET", `${url}/v2/app/manifests/v1`, { headers: { Accept: "*/*" } })).status, 200);
      assert.equal((await http("GET", `${url}/v2/app/manifests/v1`, { headers: { "If-None-Match": `"${img.digest}"` } })).status, 304);
      assertError(await http("GET", `${url}/v2/app/manifests/v2`), 404, "MANIFEST_UNKNOWN");
      assertError(await http("GET", `${url}/v2/app/manifests/${sha("x")}`), 404, "MANIFEST_UNKNOWN");
      assertError(await http("GET", `${url}/v2/nope/manifests/v1`), 404, "MANIFEST_UNKNOWN");
      // PUT by digest: must match the body.
      const put = await http("PUT", `${url}/v2/app/manifests/${img.digest}`, { body: img.manifest, headers: { "Content-Type": MediaTypes.ociManifest } });
      assert.equal(put.status, 201);
      assert.equal(put.headers.location, `/v2/app/manifests/${img.digest}`);
      assertError(await http("PUT", `${url}/v2/app/manifests/${sha("other")}`, { body: img.manifest, headers: { "Content-Type": MediaTypes.ociManifest } }), 400, "DIGEST_INVALID");
    } finally {
      await srv.close();
    }
  });

  test("PUT checks references and formats: MANIFEST_BLOB_UNKNOWN, MANIFEST_UNKNOWN, MANIFEST_INVALID, size", async () => {
    const { srv, url } = await inProcess();
    try {
      const cfg = await pushBlob(url, "app", "{}");
      const layerElsewhere = await pushBlob(url, "elsewhere", "layer");
      const m = (layers: string[]) =>
        JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.dockerManifest, config: { mediaType: MediaTypes.dockerConfig, digest: cfg, size: 2 }, layers: layers.map((digest) => ({ mediaType: MediaTypes.dockerLayerGzip, digest, size: 5 })) });
      const blobUnknown = await http("PUT", `${url}/v2/app/manifests/t`, { body: m([layerElsewhere]), headers: { "Content-Type": MediaTypes.dockerManifest } });
      assertError(blobUnknown, 400, "MANIFEST_BLOB_UNKNOWN");
      assert.deepEqual(blobUnknown.json<{ errors: Array<{ detail: unknown }> }>().errors[0]!.detail, { digest: layerElsewhere });
      const layer = await pushBlob(url, "app", "layer");
      const ok = await http("PUT", `${url}/v2/app/manifests/docker`, { body: m([layer]), headers: { "Content-Type": MediaTypes.dockerManifest } });
      assert.equal(ok.status, 201);
      const child = ok.headers["docker-content-digest"] as string;
      const list = (children: string[], mediaType: string = MediaTypes.dockerManifestList) =>
        JSON.stringify({ schemaVersion: 2, mediaType, manifests: children.map((digest) => ({ mediaType: MediaTypes.dockerManifest, digest, size: 100, platform: { architecture: "amd64", os: "linux" } })) });
      assertError(await http("PUT", `${url}/v2/app/manifests/list`, { body: list([sha("missing")]), headers: { "Content-Type": MediaTypes.dockerManifestList } }), 400, "MANIFEST_UNKNOWN");
      const l = await http("PUT", `${url}/v2/app/manifests/list`, { body: list([child]), headers: { "Content-Type": MediaTypes.dockerManifestList } });
      assert.equal(l.status, 201);
      const oi = await http("PUT", `${url}/v2/app/manifests/index`, { body: list([child], MediaTypes.ociIndex), headers: { "Content-Type": MediaTypes.ociIndex } });
      assert.equal(oi.status, 201);
      const got = await http("GET", `${url}/v2/app/manifests/list`, { headers: { Accept: MediaTypes.dockerManifestList } });
      assert.deepEqual([got.headers["content-type"], got.body.toString()], [MediaTypes.dockerManifestList, list([child])]);
      assertError(await http("PUT", `${url}/v2/app/manifests/x`, { body: m([layer]), headers: { "Content-Type": "application/vnd.example+json" } }), 400, "MANIFEST_INVALID");
      assertError(await http("PUT", `${url}/v2/app/manifests/x`, { body: "not json", headers: { "Content-Type": MediaTypes.ociManifest } }), 400, "MANIFEST_INVALID");
      assertError(await http("PUT", `${url}/v2/app/manifests/x`, { body: m([layer]), headers: { "Content-Type": MediaTypes.ociManifest } }), 400, "MANIFEST_INVALID");
      assertError(await http("PUT", `${url}/v2/app/manifests/x`, { body: " ".repeat(70 * 1024), headers: { "Content-Type": MediaTypes.ociManifest } }), 413, "SIZE_INVALID");
      assertError(await http("GET", `${url}/v2/app/manifests/x`), 404, "MANIFEST_UNKNOWN");
    } finally {
      await srv.close();
    }
  });

  test("DELETE by tag removes the tag; by digest the manifest and its tags", async () => {
    const { srv, url } = await inProcess();
    try {
      const img = await pushImage(url, "app", "v1");
      await http("PUT", `${url}/v2/app/manifests/v2`, { body: img.manifest, headers: { "Content-Type": MediaTypes.ociManifest } });
      assert.equal((await http("DELETE", `${url}/v2/app/manifests/v1`)).status, 202);
      assertError(await http("GET", `${url}/v2/app/manifests/v1`), 404, "MANIFEST_UNKNOWN");
      assert.equal((await http("GET", `${url}/v2/app/manifests/${img.digest}`)).status, 200);
      assertError(await http("DELETE", `${url}/v2/app/manifests/v1`), 404, "MANIFEST_UNKNOWN");
      assert.equal((await http("DELETE", `${url}/v2/app/manifests/${img.digest}`)).status, 202);
      assertError(await http("GET", `${url}/v2/app/manifests/${img.digest}`), 404, "MANIFEST_UNKNOWN");
      assertError(await http("GET", `${url}/v2/app/manifests/v2`), 404, "MANIFEST_UNKNOWN");
      assert.deepEqual((await http("GET", `${url}/v2/app/tags/list`)).json(), { name: "app", tags: [] });
    } finally {
      await srv.close();
    }
  });

  test("subject → OCI-Subject; the referrers API lists and filters referrers", async () => {
    const { srv, url } = await inProcess();
    try {
      const img = await pushImage(url, "app", "v1");
      const empty = await pushBlob(url, "app", "{}");
      const artifact = (artifactType: string, note: string) =>
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          artifactType,
          config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty, size: 2 },
          layers: [],
          subject: { mediaType: MediaTypes.ociManifest, digest: img.digest, size: img.manifest.length },
          annotations: { note },
        });
      const sig = artifact("application/vnd.example.signature", "sig");
      const sbom = artifact("application/vnd.example.sbom", "sbom");
      for (const a of [sig, sbom]) {
        const r = await http("PUT", `${url}/v2/app/manifests/${sha(a)}`, { body: a, headers: { "Content-Type": MediaTypes.ociManifest } });
        assert.equal(r.status, 201);
        assert.equal(r.headers["oci-subject"], img.digest);
      }
      const all = await http("GET", `${url}/v2/app/referrers/${img.digest}`);
      assert.equal(all.status, 200);
      assert.equal(all.headers["content-type"], MediaTypes.ociIndex);
      const index = all.json<{ schemaVersion: number; mediaType: string; manifests: Array<{ digest: string; artifactType: string; annotations: Record<string, string>; size: number }> }>();
      assert.equal(index.schemaVersion, 2);
      assert.equal(index.mediaType, MediaTypes.ociIndex);
      assert.deepEqual(index.manifests.map((m) => m.digest).sort(), [sha(sig), sha(sbom)].sort());
      assert.equal(index.manifests.find((m) => m.digest === sha(sig))!.annotations.note, "sig");
      const filtered = await http("GET", `${url}/v2/app/referrers/${img.digest}?artifactType=${encodeURIComponent("application/vnd.example.sbom")}`);
      assert.equal(filtered.headers["oci-filters-applied"], "artifactType");
      assert.deepEqual(filtered.json<{ manifests: Array<{ digest: string; artifactType: string }> }>().manifests.map((m) => [m.digest, m.artifactType]), [[sha(sbom), "application/vnd.example.sbom"]]);
      // Never 404: unknown subject and unknown repository are empty lists.
      assert.deepEqual((await http("GET", `${url}/v2/app/referrers/${sha("none")}`)).json<{ manifests: unknown[] }>().manifests, []);
      assert.equal((await http("GET", `${url}/v2/nope/referrers/${img.digest}`)).status, 200);
      assertError(await http("GET", `${url}/v2/app/referrers/sha256:xyz`), 400, "DIGEST_INVALID");
      await http("DELETE", `${url}/v2/app/manifests/${sha(sig)}`);
      assert.deepEqual((await http("GET", `${url}/v2/app/referrers/${img.digest}`)).json<{ manifests: Array<{ digest: string }> }>().manifests.map((m) => m.digest), [sha(sbom)]);
    } finally {
      await srv.close();
    }
  });
});

describe("listing", () => {
  test("tags/list and _catalog page with n/last and a Link header", async () => {
    const { srv, url } = await inProcess();
    try {
      const img = await pushImage(url, "app", "t0");
      for (const t of ["t3", "t1", "t4", "t2"]) {
        await http("PUT", `${url}/v2/app/manifests/${t}`, { body: img.manifest, headers: { "Content-Type": MediaTypes.ociManifest } });
      }
      assert.deepEqual((await http("GET", `${url}/v2/app/tags/list`)).json(), { name: "app", tags: ["t0", "t1", "t2", "t3", "t4"] });
      const seen: string[] = [];
      let next: string | undefined = "/v2/app/tags/list?n=2";
      while (next) {
        const r = await http("GET", `${url}${next}`);
        assert.equal(r.status, 200);
        seen.push(...r.json<{ tags: string[] }>().tags);
        const link = r.headers.link as string | undefined;
        next = link ? /^<([^>]+)>; rel="next"$/.exec(link)![1] : undefined;
      }
      assert.deepEqual(seen, ["t0", "t1", "t2", "t3", "t4"]);
      assert.deepEqual((await http("GET", `${url}/v2/app/tags/list?n=2&last=t3`)).json(), { name: "app", tags: ["t4"] });
      assert.deepEqual((await http("GET", `${url}/v2/app/tags/list?n=0`)).json(), { name: "app", tags: [] });
      assertError(await http("GET", `${url}/v2/app/tags/list?n=-1`), 400, "PAGINATION_NUMBER_INVALID");
      assertError(await http("GET", `${url}/v2/nope/tags/list`), 404, "NAME_UNKNOWN");

      for (const name of ["zeta", "alpha/one", "alpha/one/deeper", "mid"]) await pushBlob(url, name, name);
      assert.deepEqual((await http("GET", `${url}/v2/_catalog`)).json(), { repositories: ["alpha/one", "alpha/one/deeper", "app", "mid", "zeta"] });
      const p1 = await http("GET", `${url}/v2/_catalog?n=2`);
      assert.deepEqual(p1.json(), { repositories: ["alpha/one", "alpha/one/deeper"] });
      assert.equal(p1.headers.link, '</v2/_catalog?n=2&last=alpha%2Fone%2Fdeeper>; rel="next"');
      assert.deepEqual((await http("GET", `${url}/v2/_catalog?n=2&last=alpha%2Fone%2Fdeeper`)).json(), { repositories: ["app", "mid"] });
    } finally {
      await srv.close();
    }
  });
});

const alicePassword = "correct horse";
async function htpasswdFile(): Promise<string> {
  const dir = await tempDir("wharf-auth-");
  const path = join(dir, "htpasswd");
  // `htpasswd -B` writes $2y$; bcryptjs writes the identical $2b$.
  await writeFile(path, `alice:${bcrypt.hashSync(alicePassword, 5).replace(/^\$2b\$/, "$2y$")}\n`);
  return path;
}
const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;

describe("auth", () => {
  test("--htpasswd: Basic challenge, 401 UNAUTHORIZED, then access", async () => {
    const { srv, url } = await inProcess({ kind: "basic", htpasswd: await htpasswdFile(), realm: "Test Realm" });
    try {
      const r = await http("GET", `${url}/v2/`);
      assertError(r, 401, "UNAUTHORIZED");
      assert.equal(r.headers["www-authenticate"], 'Basic realm="Test Realm"');
      assert.equal(r.headers["docker-distribution-api-version"], "registry/2.0");
      assertError(await http("GET", `${url}/v2/`, { headers: { Authorization: basic("alice", "wrong") } }), 401, "UNAUTHORIZED");
      assertError(await http("POST", `${url}/v2/x/blobs/uploads/`), 401, "UNAUTHORIZED");
      assert.equal((await http("GET", `${url}/v2/`, { headers: { Authorization: basic("alice", alicePassword) } })).status, 200);
      assert.equal((await http("POST", `${url}/v2/x/blobs/uploads/`, { headers: { Authorization: basic("alice", alicePassword) } })).status, 202);
    } finally {
      await srv.close();
    }
  });

  test("bearer tokens: 401 with Docker Hub's challenge → /token → retry", async () => {
    const { srv, url } = await inProcess({ kind: "token", realm: "", issuer: "test-issuer", service: "test-service", htpasswd: await htpasswdFile() });
    try {
      const realm = `${url}/token`;
      const base = await http("GET", `${url}/v2/`);
      assertError(base, 401, "UNAUTHORIZED");
      assert.equal(base.headers["www-authenticate"], `Bearer realm="${realm}",service="test-service"`);
      const pull = await http("GET", `${url}/v2/lib/app/tags/list`);
      assert.equal(pull.headers["www-authenticate"], `Bearer realm="${realm}",service="test-service",scope="repository:lib/app:pull"`);
      const push = await http("POST", `${url}/v2/lib/app/blobs/uploads/`);
      assert.equal(push.headers["www-authenticate"], `Bearer realm="${realm}",service="test-service",scope="repository:lib/app:pull,push"`);
      assert.equal((await http("GET", `${url}/v2/_catalog`)).headers["www-authenticate"], `Bearer realm="${realm}",service="test-service",scope="registry:catalog:*"`);

      assertError(await http("GET", `${realm}?service=test-service&scope=repository:lib/app:pull,push`, { headers: { Authorization: basic("alice", "wrong") } }), 401, "UNAUTHORIZED");
      const t = await http("GET", `${realm}?service=test-service&scope=repository:lib/app:pull,push`, { headers: { Authorization: basic("alice", alicePassword) } });
      assert.equal(t.status, 200);
      const tok = t.json<{ token: string; access_token: string; expires_in: number; issued_at: string }>();
      assert.equal(tok.token, tok.access_token);
      assert.equal(tok.expires_in, 300);
      const bearer = { Authorization: `Bearer ${tok.token}` };
      assert.equal((await http("GET", `${url}/v2/`, { headers: bearer })).status, 200);
      assert.equal((await http("POST", `${url}/v2/lib/app/blobs/uploads/`, { headers: bearer })).status, 202);
      const other = await http("POST", `${url}/v2/lib/other/blobs/uploads/`, { headers: bearer });
      assertError(other, 401, "UNAUTHORIZED");
      assert.match(String(other.headers["www-authenticate"]), /scope="repository:lib\/other:pull,push",error="insufficient_scope"$/);
      assert.match(String((await http("GET", `${url}/v2/`, { headers: { Authorization: "Bearer garbage" } })).headers["www-authenticate"]), /error="invalid_token"/);
      // Basic credentials sent straight to /v2/ are not a token.
      assertError(await http("GET", `${url}/v2/`, { headers: { Authorization: basic("alice", alicePassword) } }), 401, "UNAUTHORIZED");

      // Anonymous: a token that grants nothing.
      const anon = (await http("GET", `${realm}?service=test-service&scope=repository:lib/app:pull`)).json<{ token: string }>();
      assert.equal((await http("GET", `${url}/v2/`, { headers: { Authorization: `Bearer ${anon.token}` } })).status, 200);
      assert.match(String((await http("GET", `${url}/v2/lib/app/tags/list`, { headers: { Authorization: `Bearer ${anon.token}` } })).headers["www-authenticate"]), /insufficient_scope/);

      // OAuth2 password grant, as containerd asks.
      const form = new URLSearchParams({ grant_type: "password", username: "alice", password: alicePassword, service: "test-service", scope: "registry:catalog:*", client_id: "test" });
      const o = await http("POST", realm, { body: form.toString(), headers: { "Content-Type": "application/x-www-form-urlencoded" } });
      assert.equal(o.status, 200, o.body.toString());
      const cat = await http("GET", `${url}/v2/_catalog`, { headers: { Authorization: `Bearer ${o.json<{ access_token: string }>().access_token}` } });
      assert.equal(cat.status, 200);
      assertError(await http("GET", `${realm}?service=another-service`, { headers: { Authorization: basic("alice", alicePassword) } }), 400, "UNSUPPORTED");
    } finally {
      await srv.close();
    }
  });

  test("TLS: --tls-cert/--tls-key serve HTTPS", async (t) => {
    const dir = await tempDir("wharf-tls-");
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    try {
      await run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
    } catch (err) {
      t.skip(`openssl cannot make a test certificate: ${(err as Error).message}`);
      return;
    }
    const { srv, url } = await inProcess({ kind: "none" }, { tls: { cert, key } });
    try {
      assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const ca = await readFile(cert);
      const status = await new Promise<number>((ok, fail) => {
        httpsRequest(`${url}/v2/`, { ca, agent: false }, (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        })
          .on("error", fail)
          .end();
      });
      assert.equal(status, 200);
    } finally {
      await srv.close();
    }
  });
});

// ---- Through the real verb in a child process, with skopeo as the client ----

const haveSkopeo = await run("skopeo", ["--version"]).then(() => true, () => false);
const haveBusybox = existsSync(busyboxTar);
const skopeoSkip = !haveSkopeo ? "skopeo is not installed (scripts/test.sh installs it)" : !haveBusybox ? ".cache/busybox.tar is missing (scripts/setup.sh makes it)" : false;

async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await run("skopeo", ["--insecure-policy", ...args], { timeout: 120_000, maxBuffer: 16 << 20 });
  return stdout;
}

let busyboxLayout: string | undefined;
/** An OCI layout of .cache/busybox.tar, tagged `v1`, made once. */
async function busyboxOci(): Promise<string> {
  if (busyboxLayout) return busyboxLayout;
  const dir = join(await tempDir("wharf-oci-"), "layout");
  await skopeo(["copy", `docker-archive:${busyboxTar}`, `oci:${dir}:v1`]);
  busyboxLayout = dir;
  return dir;
}

/** The busybox layout plus an OCI index over its manifest, tagged `multi` (skopeo --all pushes the child, then the index). */
async function indexLayout(): Promise<string> {
  const src = await busyboxOci();
  const dir = join(await tempDir("wharf-oci-"), "multi");
  await cp(src, dir, { recursive: true });
  const top = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: Array<Record<string, unknown>> };
  const { mediaType, digest, size } = top.manifests[0]! as { mediaType: string; digest: string; size: number };
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ mediaType, digest, size, platform: { architecture: "amd64", os: "linux" } }] }));
  await writeFile(join(dir, "blobs", "sha256", sha(index).slice(7)), index);
  top.manifests.push({ mediaType: MediaTypes.ociIndex, digest: sha(index), size: index.length, annotations: { "org.opencontainers.image.ref.name": "multi" } });
  await writeFile(join(dir, "index.json"), JSON.stringify(top));
  return dir;
}

async function layoutBlobs(dir: string): Promise<string[]> {
  return (await readdir(join(dir, "blobs", "sha256"))).sort();
}

describe("skopeo against `wharf registry`", { skip: skopeoSkip }, () => {
  test("copies an OCI layout in and out (OCI and Docker schema 2), inspect, list-tags, delete", async () => {
    const root = await tempDir("wharf-registry-");
    const reg = await ChildRegistry.start(root);
    try {
      const src = await busyboxOci();
      await skopeo(["copy", "--dest-tls-verify=false", `oci:${src}:v1`, `docker://${reg.hostPort}/x:v1`]);
      const back = join(await tempDir("wharf-oci-"), "back");
      await skopeo(["copy", "--src-tls-verify=false", `docker://${reg.hostPort}/x:v1`, `oci:${back}:v1`]);
      assert.deepEqual(await layoutBlobs(back), await layoutBlobs(src), "same manifest, config and layer, byte for byte");
      const inspect = JSON.parse(await skopeo(["inspect", "--tls-verify=false", `docker://${reg.hostPort}/x:v1`])) as { Digest: string; Os: string };
      const srcIndex = JSON.parse(await readFile(join(src, "index.json"), "utf8")) as { manifests: Array<{ digest: string }> };
      assert.equal(inspect.Digest, srcIndex.manifests[0]!.digest);
      await skopeo(["copy", "--format", "v2s2", "--dest-tls-verify=false", `oci:${src}:v1`, `docker://${reg.hostPort}/x:docker`]);
      const m = await http("GET", `${reg.url}/v2/x/manifests/docker`, { headers: { Accept: MediaTypes.dockerManifest } });
      assert.equal(m.headers["content-type"], MediaTypes.dockerManifest);
      const tags = JSON.parse(await skopeo(["list-tags", "--tls-verify=false", `docker://${reg.hostPort}/x`])) as { Tags: string[] };
      assert.deepEqual(tags.Tags, ["docker", "v1"]);
      // A second repository gets its layers by cross-repository mount.
      await skopeo(["copy", "--src-tls-verify=false", "--dest-tls-verify=false", `docker://${reg.hostPort}/x:v1`, `docker://${reg.hostPort}/y/z:v1`]);
      assert.match(reg.log, /POST \/v2\/y\/z\/blobs\/uploads\/\?\S*mount=sha256%3A[a-f0-9]{64}\S* 201/);
      // An image index: the child manifest goes first (by digest), then the index that lists it.
      const multi = await indexLayout();
      await skopeo(["copy", "--all", "--dest-tls-verify=false", `oci:${multi}:multi`, `docker://${reg.hostPort}/m:multi`]);
      const idx = await http("GET", `${reg.url}/v2/m/manifests/multi`, { headers: { Accept: MediaTypes.ociIndex } });
      assert.equal(idx.headers["content-type"], MediaTypes.ociIndex);
      const multiBack = join(await tempDir("wharf-oci-"), "multi-back");
      await skopeo(["copy", "--all", "--src-tls-verify=false", `docker://${reg.hostPort}/m:multi`, `oci:${multiBack}:multi`]);
      assert.deepEqual(await layoutBlobs(multiBack), await layoutBlobs(multi));
      await skopeo(["delete", "--tls-verify=false", `docker://${reg.hostPort}/x:docker`]);
      assertError(await http("GET", `${reg.url}/v2/x/manifests/docker`), 404, "MANIFEST_UNKNOWN");
    } finally {
      await reg.stop();
    }
  });

  test("with --htpasswd: skopeo needs --dest-creds", async () => {
    const root = await tempDir("wharf-registry-");
    const reg = await ChildRegistry.start(root, ["--htpasswd", await htpasswdFile()]);
    try {
      const src = await busyboxOci();
      await assert.rejects(skopeo(["copy", "--dest-tls-verify=false", `oci:${src}:v1`, `docker://${reg.hostPort}/private:v1`]), /unauthorized|authentication required/i);
      await skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", `alice:${alicePassword}`, `oci:${src}:v1`, `docker://${reg.hostPort}/private:v1`]);
      const back = join(await tempDir("wharf-oci-"), "back");
      await skopeo(["copy", "--src-tls-verify=false", "--src-creds", `alice:${alicePassword}`, `docker://${reg.hostPort}/private:v1`, `oci:${back}:v1`]);
      assert.deepEqual(await layoutBlobs(back), await layoutBlobs(src));
    } finally {
      await reg.stop();
    }
  });

  test("with bearer tokens: skopeo does 401 → /token → retry", async () => {
    const root = await tempDir("wharf-registry-");
    const reg = await ChildRegistry.start(root, ["--htpasswd", await htpasswdFile(), "--token-realm", "--token-service", "wharf-test"]);
    try {
      const src = await busyboxOci();
      await assert.rejects(skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", "alice:nope", `oci:${src}:v1`, `docker://${reg.hostPort}/tok:v1`]), /unauthorized|401/i);
      await skopeo(["copy", "--dest-tls-verify=false", "--dest-creds", `alice:${alicePassword}`, `oci:${src}:v1`, `docker://${reg.hostPort}/tok:v1`]);
      assert.match(reg.log, /GET \/token\?[^ ]*scope=repository%3Atok%3Apull%2Cpush[^ ]* 200/);
      const back = join(await tempDir("wharf-oci-"), "back");
      await skopeo(["copy", "--src-tls-verify=false", "--src-creds", `alice:${alicePassword}`, `docker://${reg.hostPort}/tok:v1`, `oci:${back}:v1`]);
      assert.deepEqual(await layoutBlobs(back), await layoutBlobs(src));
    } finally {
      await reg.stop();
    }
  });

  test("gc removes only unreferenced blobs (index children kept), refuses to run under a live server", async () => {
    const root = await tempDir("wharf-registry-");
    let reg = await ChildRegistry.start(root);
    try {
      const src = await busyboxOci();
      await skopeo(["copy", "--dest-tls-verify=false", `oci:${src}:v1`, `docker://${reg.hostPort}/keep:v1`]);
      const kept = (await layoutBlobs(src)).map((h) => `sha256:${h}`);
      // An image sharing busybox's layer, then deleted: its own blobs go, the shared layer stays.
      const bbManifest = JSON.parse((await http("GET", `${reg.url}/v2/keep/manifests/v1`, { headers: { Accept: MediaTypes.ociManifest } })).body.toString()) as { layers: Array<{ digest: string; size: number }> };
      await http("POST", `${reg.url}/v2/gone/blobs/uploads/?mount=${bbManifest.layers[0]!.digest}&from=keep`);
      const gone = await pushImage(reg.url, "gone", "v1", "gone", [{ digest: bbManifest.layers[0]!.digest, size: bbManifest.layers[0]!.size }]);
      assert.equal((await http("DELETE", `${reg.url}/v2/gone/manifests/${gone.digest}`)).status, 202);
      // A manifest reachable only as an index child: kept with its blobs.
      const child = await pushImage(reg.url, "multi", "child", "child");
      const index = JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ mediaType: MediaTypes.ociManifest, digest: child.digest, size: child.manifest.length }] });
      assert.equal((await http("PUT", `${reg.url}/v2/multi/manifests/idx`, { body: index, headers: { "Content-Type": MediaTypes.ociIndex } })).status, 201);
      assert.equal((await http("DELETE", `${reg.url}/v2/multi/manifests/${child.digest}`)).status, 202);
      // A blob pushed and never referenced.
      const orphan = await pushBlob(reg.url, "keep", "orphan blob");

      const wharfGc = (args: string[]) => run(process.execPath, [join(repoRoot, "dist/test/support/registry-child.js"), "gc", "--root", root, ...args]).then(
        (r) => ({ code: 0, out: r.stdout, err: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout, err: e.stderr }),
      );
      const refused = await wharfGc([]);
      assert.equal(refused.code, 1);
      assert.match(refused.err, /is serving .*stop it before gc/);
      await reg.stop();

      const garbage = [gone.digest, gone.configDigest, gone.layerDigest, orphan].sort();
      const before = await blobFiles(root);
      const dry = await wharfGc(["--dry-run"]);
      assert.equal(dry.code, 0, dry.err);
      for (const g of garbage) assert.match(dry.out, new RegExp(`eligible for deletion: ${g}`));
      assert.match(dry.out, /4 blobs eligible for deletion/);
      assert.deepEqual(await blobFiles(root), before, "--dry-run removes nothing");
      const real = await wharfGc([]);
      assert.equal(real.code, 0, real.err);
      assert.match(real.out, /4 blobs deleted/);
      const after = await blobFiles(root);
      assert.deepEqual(after, before.filter((b) => !garbage.includes(b)));
      for (const k of [...kept, sha(index), child.digest, child.configDigest, child.layerDigest]) assert.ok(after.includes(k), `kept ${k}`);

      reg = await ChildRegistry.start(root);
      const back = join(await tempDir("wharf-oci-"), "back");
      await skopeo(["copy", "--src-tls-verify=false", `docker://${reg.hostPort}/keep:v1`, `oci:${back}:v1`]);
      assert.deepEqual(await layoutBlobs(back), await layoutBlobs(src));
      assertError(await http("HEAD", `${reg.url}/v2/keep/blobs/${orphan}`), 404, "BLOB_UNKNOWN");
      assert.equal((await http("GET", `${reg.url}/v2/multi/blobs/${child.layerDigest}`)).status, 200);
    } finally {
      await reg.stop();
    }
  });
});

describe("crash safety", () => {
  test("kill -9 mid-upload leaves nothing visible; the session resumes after restart", async () => {
    const root = await tempDir("wharf-registry-");
    let reg = await ChildRegistry.start(root);
    try {
      const chunked = randomBytes(512 * 1024);
      const mono = randomBytes(512 * 1024);
      const loc = (await http("POST", `${reg.url}/v2/crash/blobs/uploads/`)).headers.location as string;
      const patch = openPatch(`${reg.url}${loc}`);
      patch.req.write(chunked.subarray(0, 200_000));
      let monoReq!: ClientRequest;
      const monoDone = new Promise<void>((ok) => {
        monoReq = httpRequest(`${reg.url}/v2/crash/blobs/uploads/?digest=${sha(mono)}`, { method: "POST", agent: false, headers: { "Content-Length": String(mono.length) } }, (res) => {
          res.resume();
          ok();
        });
        monoReq.on("error", () => ok());
      });
      monoReq.write(mono.subarray(0, 300_000));
      await until("the chunk to reach the session", async () => (await http("GET", `${reg.url}${loc}`)).headers.range === "0-199999");
      await until("the monolithic upload to reach ingest/", async () => {
        for (const f of await readdir(join(root, "ingest"))) if ((await stat(join(root, "ingest", f))).size === 300_000) return true;
        return false;
      });
      await reg.kill9();
      await Promise.all([patch.done, monoDone]);

      assert.deepEqual(await blobFiles(root), [], "no blob is visible after the crash");
      reg = await ChildRegistry.start(root);
      assert.deepEqual(await readdir(join(root, "ingest")), [], "the half-written monolithic upload is gone");
      assertError(await http("HEAD", `${reg.url}/v2/crash/blobs/${sha(mono)}`), 404, "BLOB_UNKNOWN");
      assertError(await http("HEAD", `${reg.url}/v2/crash/blobs/${sha(chunked)}`), 404, "BLOB_UNKNOWN");
      assertError(await http("GET", `${reg.url}/v2/crash/manifests/v1`), 404, "MANIFEST_UNKNOWN");
      const status = await http("GET", `${reg.url}${loc}`);
      assert.deepEqual([status.status, status.headers.range], [204, "0-199999"], "the session kept the bytes received before the crash");
      const rest = await http("PATCH", `${reg.url}${loc}`, { body: chunked.subarray(200_000), headers: { "Content-Range": `200000-${chunked.length - 1}` } });
      assert.equal(rest.status, 202);
      assert.equal((await http("PUT", `${reg.url}${loc}?digest=${sha(chunked)}`)).status, 201);
      assert.deepEqual((await http("GET", `${reg.url}/v2/crash/blobs/${sha(chunked)}`)).body, chunked);
    } finally {
      await reg.stop();
    }
  });

  test("a second server on the same root is refused; a stale lock (kill -9) is taken over", async () => {
    const root = await tempDir("wharf-registry-");
    await mkdir(root, { recursive: true });
    const reg = await ChildRegistry.start(root);
    try {
      await assert.rejects(ChildRegistry.start(root), /another registry \(pid \d+\) is using the storage root/);
      await reg.kill9();
      await reg.launch();
      assert.equal((await http("GET", `${reg.url}/v2/`)).status, 200);
    } finally {
      await reg.stop();
    }
  });
});

describe("wharf registry flags", () => {
  test("argv → options: defaults, auth modes, TLS pairs, addresses", async () => {
    const { parseRegistryArgs, parseAddr } = await import("../src/cli/commands/registry.js");
    const { UsageError } = await import("../src/cli/cli-errors.js");
    const d = parseRegistryArgs([]);
    assert.deepEqual([d.addr, d.root, d.auth, d.tls, d.logLevel], [{ host: "127.0.0.1", port: 5000 }, "/var/lib/wharf-registry", { kind: "none" }, undefined, "info"]);
    assert.deepEqual(parseRegistryArgs(["--htpasswd", "/h"]).auth, { kind: "basic", htpasswd: "/h", realm: "Wharf Registry" });
    assert.deepEqual(parseRegistryArgs(["--token-realm", "--htpasswd", "/h"]).auth, {
      kind: "token",
      realm: "",
      issuer: "wharf-registry",
      service: "wharf-registry",
      expiresInSeconds: 300,
      htpasswd: "/h",
    });
    assert.equal((parseRegistryArgs(["--token-realm", "https://auth.example/token", "--token-key", "/k.pem"]).auth as { key: string }).key, "/k.pem");
    assert.deepEqual(parseRegistryArgs(["--tls-cert", "c", "--tls-key", "k"]).tls, { cert: "c", key: "k" });
    assert.deepEqual(parseAddr(":5001"), { host: "0.0.0.0", port: 5001 });
    assert.deepEqual(parseAddr("[::1]:0"), { host: "::1", port: 0 });
    for (const bad of [["--tls-cert", "c"], ["--addr", "nohost"], ["--addr", "h:99999"], ["--token-realm", "ftp://x"], ["-l", "loud"], ["extra"]]) {
      assert.throws(() => parseRegistryArgs(bad), UsageError, bad.join(" "));
    }
  });

  test("a taken port is an UnavailableError, and the root is released", async () => {
    const { srv, url } = await inProcess();
    try {
      const port = Number(new URL(url).port);
      const root = await tempDir("wharf-registry-");
      await assert.rejects(startRegistryServer({ addr: { host: "127.0.0.1", port }, root, auth: { kind: "none" } }), (e: Error) => e.name === "UnavailableError");
      assert.equal(existsSync(join(root, "registry.pid")), false);
    } finally {
      await srv.close();
    }
  });
});
