import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ok, TestDaemon } from "./support/daemon.js";
import { ChildRegistry, cleanupTempDirs, stopChildRegistries, tempDir } from "./support/registry.js";

/**
 * `wharf registry` over TLS, with a CA of the test's own: a registry on a
 * non-loopback address (the test daemon's bridge gateway, an address this
 * project created) is verified against `--certs-dir <dir>/<host:port>/ca.crt`,
 * and refused without it; a TLS registry on loopback is reached without any
 * CA, as dockerd treats loopback as insecure (HTTPS first, certificate not
 * checked, HTTP when TLS fails).
 */
const run = promisify(execFile);
const p = `wharftest-${randomBytes(3).toString("hex")}`;


/** A CA and a server certificate it signed for `ip` (and 127.0.0.1/localhost). */
async function makeCerts(dir: string, ip: string): Promise<{ ca: string; cert: string; key: string }> {
  const f = (n: string) => join(dir, n);
  await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=wharf test CA", "-keyout", f("ca.key"), "-out", f("ca.crt")]);
  await run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${ip}`, "-keyout", f("server.key"), "-out", f("server.csr")]);
  await writeFile(f("ext.cnf"), `subjectAltName=IP:${ip},IP:127.0.0.1,DNS:localhost\n`);
  await run("openssl", ["x509", "-req", "-in", f("server.csr"), "-CA", f("ca.crt"), "-CAkey", f("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", f("ext.cnf"), "-out", f("server.crt")]);
  return { ca: f("ca.crt"), cert: f("server.crt"), key: f("server.key") };
}

describe("registries over TLS", () => {
  let d: TestDaemon;
  let certsDir: string;
  let pki: { ca: string; cert: string; key: string };

  before(async () => {
    certsDir = await tempDir("wharf-certsd-");
    d = await TestDaemon.start({ args: ["--certs-dir", certsDir] });
    pki = await makeCerts(await tempDir("wharf-pki-"), d.net.gateway);
  });
  after(async () => {
    await d?.stop();
    await stopChildRegistries();
    await cleanupTempDirs();
  });

  test("a secure registry is verified against certs.d: refused without its CA, pushed to and pulled from with it", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"), ["--addr", `${d.net.gateway}:0`, "--tls-cert", pki.cert, "--tls-key", pki.key]);
    assert.match(reg.url, /^https:\/\//);
    const ref = `${reg.hostPort}/${p}/tls:v1`;
    ok(await d.wharf(["tag", "busybox", ref]), "tag");

    const refused = await d.wharf(["push", ref]);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, /certificate/i);
    assert.equal(refused.stderr.trim().split("\n").length, 1, `one line: ${refused.stderr}`);

    // Docker's layout: <certs dir>/<host:port>/ca.crt; read on each request, no restart.
    await mkdir(join(certsDir, reg.hostPort));
    await run("cp", [pki.ca, join(certsDir, reg.hostPort, "ca.crt")]);
    const pushed = ok(await d.wharf(["push", ref]), "push with the CA");
    assert.match(pushed.stdout, /v1: digest: sha256:[0-9a-f]{64}/);
    ok(await d.wharf(["rmi", ref]), "rmi");
    ok(await d.wharf(["pull", ref]), "pull with the CA");
    assert.equal(ok(await d.wharf(["run", "--rm", ref, "echo", "over tls"]), "run").stdout, "over tls\n");

    // A client certificate without its key is a clear error, not a silent anonymous connection.
    await run("cp", [pki.cert, join(certsDir, reg.hostPort, "client.cert")]);
    const half = await d.wharf(["pull", ref]);
    assert.equal(half.code, 1);
    assert.match(half.stderr, /missing key client\.key for client certificate client\.cert/);
    await reg.stop();
  });

  test("a TLS registry on loopback needs no CA (HTTPS first, certificate not checked), like dockerd's insecure registries", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"), ["--tls-cert", pki.cert, "--tls-key", pki.key]);
    const ref = `${reg.hostPort}/${p}/loop:v1`;
    ok(await d.wharf(["tag", "busybox", ref]), "tag");
    ok(await d.wharf(["push", ref]), "push over TLS to loopback");
    ok(await d.wharf(["rmi", ref]), "rmi");
    ok(await d.wharf(["pull", ref]), "pull");
    await reg.stop();
  });

  test("a loopback registry that moves from HTTP to HTTPS is found again by the next pull (each operation probes anew)", async () => {
    const root = await tempDir("wharf-registry-");
    const plain = await ChildRegistry.start(root, []);
    assert.match(plain.url, /^http:\/\//);
    const ref = `${plain.hostPort}/${p}/moving:v1`;
    ok(await d.wharf(["tag", "busybox", ref]), "tag");
    ok(await d.wharf(["push", ref]), "push over HTTP");
    await plain.stop();
    const tls = await ChildRegistry.start(root, ["--addr", plain.hostPort, "--tls-cert", pki.cert, "--tls-key", pki.key]);
    assert.match(tls.url, /^https:\/\//);
    ok(await d.wharf(["rmi", ref]), "rmi");
    ok(await d.wharf(["pull", ref]), "pull over HTTPS from the same host:port");
    await tls.stop();
  });
});
