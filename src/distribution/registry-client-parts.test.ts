import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseChallenges } from "./auth-challenge.js";
import { decodeAuthHeader, encodeAuthHeader, credentialsOf } from "./auth-config.js";
import { credentialKey, CredentialsFile, dockerConfigPath, dockerHubAuthKey } from "./credentials.js";
import { parsePlatform, selectManifest } from "./platform.js";
import { checkInsecureRegistry, resolveEndpoint } from "./registry-endpoint.js";
import { progressBar } from "./progress.js";
import { runLimited } from "./run-limited.js";
import { NotFoundError } from "../lib/errors.js";

test("challenge parser: Docker Hub's bearer challenge, several challenges, escapes, odd spacing", () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'), [
    { scheme: "bearer", params: { realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: "basic", params: { realm: "Registry Realm" } }]);
  assert.deepEqual(parseChallenges(['Basic realm="a, b", Bearer realm="http://x/token" , service = svc,error="insufficient_scope"', 'Negotiate abc==']), [
    { scheme: "basic", params: { realm: "a, b" } },
    { scheme: "bearer", params: { realm: "http://x/token", service: "svc", error: "insufficient_scope" } },
    { scheme: "negotiate", params: { token68: "abc==" } },
  ]);
  assert.deepEqual(parseChallenges('Bearer realm="say \\"hi\\"",scope="repository:a/b:pull,push"'), [{ scheme: "bearer", params: { realm: 'say "hi"', scope: "repository:a/b:pull,push" } }]);
  assert.deepEqual(parseChallenges(undefined), []);
  assert.deepEqual(parseChallenges(""), []);
  // Two scopes a registry may list space-separated stay one value.
  assert.equal(parseChallenges('Bearer realm="r",scope="repository:a:pull repository:b:pull"')[0]!.params.scope, "repository:a:pull repository:b:pull");
});

test("credentials file: docker's config.json auths, other keys kept, 0600, any spelling of a server", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wharf-test-creds-"));
  try {
    const path = join(dir, "config.json");
    assert.equal(dockerConfigPath({ DOCKER_CONFIG: dir }), path);
    assert.equal(dockerConfigPath({ HOME: "/home/x" }), "/home/x/.docker/config.json");
    await writeFile(path, JSON.stringify({ auths: { "http://localhost:5000/v2/": { auth: Buffer.from("bob:s3:cret").toString("base64") } }, credsStore: "", proxies: { default: {} } }));
    const f = await CredentialsFile.load(path);
    assert.deepEqual(f.get("localhost:5000"), { username: "bob", password: "s3:cret" });
    assert.equal(f.get("localhost:5001"), undefined);
    f.set("https://index.docker.io/v1/", { username: "hub", password: "pw" });
    f.set("localhost:5000", { username: "alice", password: "x" });
    await f.save();
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const raw = JSON.parse(await readFile(path, "utf8")) as { auths: Record<string, { auth: string }>; proxies: unknown };
    assert.deepEqual(Object.keys(raw.auths).sort(), ["https://index.docker.io/v1/", "localhost:5000"]);
    assert.equal(raw.auths["localhost:5000"]!.auth, Buffer.from("alice:x").toString("base64"));
    assert.deepEqual(raw.proxies, { default: {} });
    const again = await CredentialsFile.load(path);
    assert.deepEqual(again.get("docker.io"), { username: "hub", password: "pw" });
    assert.deepEqual(again.get("registry-1.docker.io"), { username: "hub", password: "pw" });
    assert.equal(again.remove("localhost:5000"), true);
    assert.equal(again.remove("localhost:5000"), false);
    assert.equal((await CredentialsFile.load(join(dir, "missing.json"))).get("x"), undefined);
    await writeFile(path, "{nope");
    await assert.rejects(CredentialsFile.load(path), /invalid docker config file/);
    assert.equal(credentialKey("index.docker.io"), dockerHubAuthKey);
    assert.equal(credentialKey("HTTPS://Reg.Example:443/path"), "reg.example:443");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("X-Registry-Auth: base64url JSON both ways, padding or not, auth expanded", () => {
  const h = encodeAuthHeader({ username: "alice", password: "p+/=?", serveraddress: "localhost:5000" });
  assert.doesNotMatch(h, /[+/=]/);
  assert.deepEqual(decodeAuthHeader(h), { username: "alice", password: "p+/=?", serveraddress: "localhost:5000" });
  assert.deepEqual(decodeAuthHeader(Buffer.from('{"auth":"' + Buffer.from("u:p").toString("base64") + '"}').toString("base64")), { auth: Buffer.from("u:p").toString("base64"), username: "u", password: "p" });
  assert.deepEqual(decodeAuthHeader(undefined), {});
  assert.deepEqual(decodeAuthHeader("e30="), {});
  assert.equal(credentialsOf({}), undefined);
  assert.deepEqual(credentialsOf({ registrytoken: "t" }), { registryToken: "t" });
  assert.throws(() => decodeAuthHeader("!!!not base64 json"), /invalid X-Registry-Auth/);
});

test("platform selection: linux/amd64 from an index, variants, attestations skipped, Docker's error", () => {
  const entries = [
    { digest: "sha256:att", platform: { os: "unknown", architecture: "unknown" } },
    { digest: "sha256:arm7", platform: { os: "linux", architecture: "arm", variant: "v7" } },
    { digest: "sha256:arm6", platform: { os: "linux", architecture: "arm", variant: "v6" } },
    { digest: "sha256:arm64", platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    { digest: "sha256:amd64", platform: { os: "linux", architecture: "amd64" } },
    { digest: "sha256:win", platform: { os: "windows", architecture: "amd64" } },
  ];
  assert.equal(selectManifest(entries, { os: "linux", architecture: "amd64" }).digest, "sha256:amd64");
  assert.equal(selectManifest(entries, parsePlatform("linux/arm/v6")).digest, "sha256:arm6");
  assert.equal(selectManifest(entries, parsePlatform("linux/arm64")).digest, "sha256:arm64");
  assert.equal(selectManifest(entries, parsePlatform("linux/aarch64")).digest, "sha256:arm64");
  assert.equal(selectManifest(entries, parsePlatform("windows")).digest, "sha256:win");
  assert.throws(() => selectManifest(entries, parsePlatform("linux/s390x")), (e: unknown) => e instanceof NotFoundError && /no matching manifest for linux\/s390x in the manifest list entries/.test(e.message));
  assert.throws(() => selectManifest([], parsePlatform("linux/amd64")), NotFoundError);
  assert.equal(parsePlatform(undefined).os, "linux");
});

test("endpoints: docker.io → registry-1.docker.io over HTTPS, loopback and --insecure-registry over HTTP", () => {
  assert.deepEqual(resolveEndpoint("docker.io"), { domain: "docker.io", baseUrl: "https://registry-1.docker.io", insecure: false });
  assert.equal(resolveEndpoint("index.docker.io").baseUrl, "https://registry-1.docker.io");
  assert.equal(resolveEndpoint("localhost:5000").baseUrl, "http://localhost:5000");
  assert.equal(resolveEndpoint("localhost").baseUrl, "http://localhost");
  assert.equal(resolveEndpoint("127.0.0.1:41234").baseUrl, "http://127.0.0.1:41234");
  assert.equal(resolveEndpoint("[::1]:5000").baseUrl, "http://[::1]:5000");
  assert.equal(resolveEndpoint("reg.example:5000").baseUrl, "https://reg.example:5000");
  assert.equal(resolveEndpoint("reg.example:5000", ["reg.example:5000"]).baseUrl, "http://reg.example:5000");
  assert.equal(resolveEndpoint("reg.example:5000", ["reg.example"]).baseUrl, "http://reg.example:5000");
  assert.equal(resolveEndpoint("reg.example:5000", ["reg.example:5001"]).baseUrl, "https://reg.example:5000");
  assert.equal(resolveEndpoint("10.1.2.3:5000", ["10.0.0.0/8"]).baseUrl, "http://10.1.2.3:5000");
  assert.equal(resolveEndpoint("11.1.2.3:5000", ["10.0.0.0/8"]).baseUrl, "https://11.1.2.3:5000");
  assert.equal(checkInsecureRegistry("http://reg.example:5000/"), "reg.example:5000");
  assert.throws(() => checkInsecureRegistry("not a host"), /not valid/);
});

test("progress bar: jsonmessage's layout", () => {
  assert.equal(progressBar(0, 0), "");
  assert.equal(progressBar(50, 100), `[${"=".repeat(25)}>${" ".repeat(25)}]      50B/100B`);
  assert.equal(progressBar(100, 100), `[${"=".repeat(50)}>] ` + "    100B/100B");
});

test("runLimited: bounded, ordered, the first failure stops the rest", async () => {
  let running = 0;
  let peak = 0;
  const out = await runLimited([1, 2, 3, 4, 5, 6, 7], 3, undefined, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return n * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14]);
  assert.equal(peak, 3);
  const started: number[] = [];
  await assert.rejects(
    runLimited([1, 2, 3, 4, 5, 6], 2, undefined, async (n, signal) => {
      started.push(n);
      if (n === 2) throw new Error("boom");
      await new Promise((r) => setTimeout(r, 20));
      assert.ok(signal.aborted);
    }),
    /boom/,
  );
  assert.ok(started.length <= 3, `started ${started}`);
});

test("diffID while downloading: gzip'd and plain layers, any chunking; bad gzip is refused", async () => {
  const { DiffIdHasher } = await import("./diff-id.js");
  const { gzipSync } = await import("node:zlib");
  const { createHash, randomBytes } = await import("node:crypto");
  const data = Buffer.concat([randomBytes(200_000), Buffer.alloc(300_000, 7)]);
  const want = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  for (const [bytes, sizes] of [[gzipSync(data), [1, 3, 7, 65536, 1 << 20]], [data, [2, 4096, 1 << 20]]] as const) {
    const h = new DiffIdHasher();
    let off = 0;
    for (let i = 0; off < bytes.length; i++) {
      const n = sizes[i % sizes.length]!;
      await h.update(bytes.subarray(off, off + n));
      off += n;
    }
    assert.deepEqual(await h.digest(), { diffId: want, size: data.length });
  }
  // With the blob's digest, a plain layer's diffID is that digest (not hashed twice); a gzip'd one is still computed.
  const blobDigest = `sha256:${"0".repeat(64)}`;
  const plain = new DiffIdHasher({ blobDigest });
  await plain.update(data);
  assert.deepEqual(await plain.digest(), { diffId: blobDigest, size: data.length });
  const gzipped = new DiffIdHasher({ blobDigest });
  await gzipped.update(gzipSync(data));
  assert.deepEqual(await gzipped.digest(), { diffId: want, size: data.length });
  const tiny = new DiffIdHasher();
  await tiny.update(Buffer.from("ab"));
  assert.deepEqual(await tiny.digest(), { diffId: `sha256:${createHash("sha256").update("ab").digest("hex")}`, size: 2 });
  const bad = new DiffIdHasher();
  const gz = gzipSync(data);
  await assert.rejects(
    (async () => {
      await bad.update(gz.subarray(0, 1000));
      await bad.update(Buffer.alloc(5000, 0xff));
      await bad.digest();
    })(),
    /bad gzip data/,
  );
});
