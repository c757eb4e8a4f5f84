/**
 * The registry client end to end, all on loopback with real peers:
 * `wharf push/pull` through a real `wharf daemon` to `wharf registry`
 * (round trip, same image ID, `run` auto-pull, digests, cross-repository
 * mounts), to Debian's `docker-registry` (Distribution 2.8), with token
 * auth (`wharf login`, bad passwords, the real `docker` CLI through our
 * daemon), and through a small proxy that fails on purpose (500s, dropped
 * connections: bounded retries, resume with Range, nothing tagged). Plus
 * in-process client cases (chunked uploads resumed after a drop). Every
 * child is stopped by its PID; temp dirs are removed.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import http, { type IncomingMessage, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import bcrypt from "bcryptjs";
import { LocalContentStore } from "../src/content/index.js";
import { HttpRegistryClient } from "../src/distribution/http-registry-client.js";
import { pullImage } from "../src/distribution/pull.js";
import { pushImage } from "../src/distribution/push.js";
import { startRegistryServer } from "../src/distribution/start-registry.js";
import type { RegistryServer } from "../src/distribution/registry-server.js";
import type { ProgressMessage } from "../src/distribution/progress.js";
import { importRootfs, LocalImageStore, loadImages, MediaTypes, ociArchitecture } from "../src/image/index.js";
import { UnauthorizedError, UnavailableError } from "../src/lib/errors.js";
import tar from "tar-stream";
import { gzipSync } from "node:zlib";
import { ok, runCommand, TestDaemon, wharfBin } from "./support/daemon.js";
import { busyboxTar, ChildRegistry, cleanupTempDirs, stopChildRegistries, tempDir } from "./support/registry.js";

const haveBusybox = existsSync(busyboxTar);
const skipAll = haveBusybox ? false : ".cache/busybox.tar is missing (scripts/setup.sh makes it)";

const alicePassword = "correct horse";
async function htpasswdFile(): Promise<string> {
  const path = join(await tempDir("wharf-auth-"), "htpasswd");
  await writeFile(path, `alice:${bcrypt.hashSync(alicePassword, 5).replace(/^\$2b\$/, "$2y$")}\n`);
  return path;
}


const unique = () => randomBytes(4).toString("hex");

/** A free loopback port (bound, read, released). */
async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

// ------------------------------------------------------------------ a failing proxy

type Fault = "pass" | "500" | "drop" | "hang";

interface ProxyLog {
  method: string;
  url: string;
  range?: string;
}

/**
 * A reverse proxy in front of a registry that fails on purpose: `fault(req)`
 * picks per request whether to pass it, answer 500, or forward it and cut
 * the connection halfway through the response body.
 */
class FaultyProxy {
  readonly log: ProxyLog[] = [];
  fault: (req: IncomingMessage, n: number) => Fault = () => "pass";
  #server: Server;
  #target: URL;
  port = 0;

  private constructor(target: string) {
    this.#target = new URL(target);
    this.#server = http.createServer((req, res) => {
      const n = this.log.length;
      this.log.push({ method: req.method ?? "", url: req.url ?? "", ...(req.headers.range ? { range: req.headers.range } : {}) });
      const fault = this.fault(req, n);
      if (fault === "500") {
        req.resume();
        res.writeHead(500, { "Content-Type": "text/plain" });
        res.end("injected failure");
        return;
      }
      const headers = { ...req.headers, host: this.#target.host };
      const up = http.request({ host: this.#target.hostname, port: this.#target.port, method: req.method, path: req.url, headers, agent: false }, (upRes) => {
        // Locations point at the registry; rewrite them to us so the client keeps coming through.
        const h = { ...upRes.headers };
        if (typeof h.location === "string") h.location = h.location.replace(this.#target.origin, `http://127.0.0.1:${this.port}`);
        res.writeHead(upRes.statusCode ?? 500, h);
        const total = Number(upRes.headers["content-length"] ?? 0);
        if ((fault === "drop" || fault === "hang") && total > 1) {
          let sent = 0;
          upRes.on("data", (c: Buffer) => {
            const room = Math.floor(total / 2) - sent;
            if (room <= 0) return;
            res.write(c.subarray(0, room));
            sent += Math.min(room, c.length);
            if (sent >= Math.floor(total / 2)) {
              upRes.destroy();
              // "hang": the connection stays open and silent, as a stuck registry's does.
              if (fault === "drop") res.socket?.destroy();
            }
          });
          return;
        }
        upRes.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    });
  }

  static async start(target: string): Promise<FaultyProxy> {
    const p = new FaultyProxy(target);
    await new Promise<void>((r) => p.#server.listen(0, "127.0.0.1", r));
    p.port = (p.#server.address() as AddressInfo).port;
    return p;
  }

  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }
}

const isBlobGet = (req: IncomingMessage) => req.method === "GET" && /\/blobs\/sha256:/.test(req.url ?? "");

// ------------------------------------------------------------------ Debian's docker-registry

const dockerRegistryBin = "/usr/bin/docker-registry";

/** `docker-registry serve CONFIG` on a loopback port with a temp storage dir, stopped by its PID. */
class DockerRegistry {
  #proc: ChildProcess;
  #log = "";
  readonly hostPort: string;

  private constructor(proc: ChildProcess, hostPort: string) {
    this.#proc = proc;
    this.hostPort = hostPort;
    proc.stdout!.on("data", (d: Buffer) => (this.#log += d.toString()));
    proc.stderr!.on("data", (d: Buffer) => (this.#log += d.toString()));
  }

  static async start(): Promise<DockerRegistry> {
    const dir = await tempDir("wharf-docker-registry-");
    const port = await freePort();
    const config = join(dir, "config.yml");
    await writeFile(
      config,
      ["version: 0.1", "log:", "  level: info", "storage:", "  filesystem:", `    rootdirectory: ${join(dir, "data")}`, "  delete:", "    enabled: true", "http:", `  addr: 127.0.0.1:${port}`, ""].join("\n"),
    );
    const proc = spawn(dockerRegistryBin, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    const reg = new DockerRegistry(proc, `127.0.0.1:${port}`);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}:\n${reg.#log}`);
      const up = await new Promise<boolean>((r) => {
        http
          .get(`http://${reg.hostPort}/v2/`, { agent: false }, (res) => {
            res.resume();
            r(res.statusCode === 200);
          })
          .on("error", () => r(false));
      });
      if (up) return reg;
      await new Promise((r) => setTimeout(r, 50));
    }
    await reg.stop();
    throw new Error(`docker-registry did not start:\n${reg.#log}`);
  }

  get log(): string {
    return this.#log;
  }

  async stop(): Promise<void> {
    const p = this.#proc;
    if (p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once("exit", r));
    process.kill(p.pid!, "SIGTERM");
    const t = setTimeout(() => p.exitCode === null && process.kill(p.pid!, "SIGKILL"), 5000);
    await exited;
    clearTimeout(t);
  }
}

// ------------------------------------------------------------------ the suites

describe("wharf push/pull through the daemon", { skip: skipAll }, () => {
  let d: TestDaemon;
  let busyboxId: string;
  const proxies: FaultyProxy[] = [];
  const dockerRegistries: DockerRegistry[] = [];

  before(async () => {
    d = await TestDaemon.start();
    busyboxId = JSON.parse(ok(await d.wharf(["inspect", "--type", "image", "busybox"]), "inspect").stdout)[0].Id;
  });
  after(async () => {
    for (const p of proxies) await p.close().catch(() => undefined);
    for (const r of dockerRegistries) await r.stop().catch(() => undefined);
    await d?.stop();
    await stopChildRegistries();
    await cleanupTempDirs();
  });

  const imageId = async (ref: string): Promise<string | undefined> => {
    const r = await d.wharf(["inspect", "--type", "image", "--format", "{{.Id}}", ref]);
    return r.code === 0 ? r.stdout.trim() : undefined;
  };
  const repoDigests = async (ref: string): Promise<string[]> => JSON.parse(ok(await d.wharf(["inspect", "--type", "image", "--format", "{{json .RepoDigests}}", ref]), "inspect").stdout) as string[];

  /** An image of its own (busybox + a random file), so its layer is never already present. */
  async function ownImage(tag: string, bytes = 300_000): Promise<string> {
    const name = `mk-${unique()}`;
    ok(await d.wharf(["run", "--name", name, "busybox", "sh", "-c", `head -c ${bytes} /dev/urandom > /payload`]), "run");
    ok(await d.wharf(["commit", name, tag]), "commit");
    ok(await d.wharf(["rm", name]), "rm");
    return (await imageId(tag))!;
  }

  test("pull -a fetches every tag of the repository (our CLI and the docker CLI); -a with a tag is refused", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"));
    const name = `${reg.hostPort}/test/alltags`;
    const other = await ownImage(`${name}:two`, 1000);
    ok(await d.wharf(["tag", "busybox", `${name}:one`]), "tag");
    ok(await d.wharf(["push", `${name}:one`]), "push one");
    ok(await d.wharf(["push", `${name}:two`]), "push two");
    ok(await d.wharf(["rmi", `${name}:one`, `${name}:two`]), "rmi");
    const pulled = ok(await d.wharf(["pull", "-a", name]), "pull -a");
    assert.doesNotMatch(pulled.stdout, /Using default tag/);
    assert.match(pulled.stdout, /one: Pulling from test\/alltags\n[\s\S]*two: Pulling from test\/alltags\n/);
    assert.match(pulled.stdout, new RegExp(`\n${name}\n$`));
    assert.equal(await imageId(`${name}:one`), busyboxId);
    assert.equal(await imageId(`${name}:two`), other);
    ok(await d.wharf(["rmi", `${name}:one`, `${name}:two`]), "rmi again");
    ok(await d.docker(["pull", "--all-tags", name]), "docker pull --all-tags");
    assert.equal(await imageId(`${name}:two`), other);
    const refused = await d.wharf(["pull", "-a", `${name}:one`]);
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr.trim(), "tag can't be used with --all-tags/-a");
    const none = await d.wharf(["pull", "-a", `${reg.hostPort}/test/nothing`]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /repository .*test\/nothing not found/);
    // Leave busybox as the other tests expect it: no repo digest of this repository.
    ok(await d.wharf(["rmi", `${name}:one`, `${name}:two`]), "rmi at the end");
    await reg.stop();
  });

  test("(a) push to `wharf registry`, rmi, pull back: same image ID, it runs; digests, Layer already exists, cross-repo mount", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"));
    const name = `${reg.hostPort}/test/bb`;
    ok(await d.wharf(["tag", "busybox", `${name}:v1`]), "tag");
    const push = ok(await d.wharf(["push", `${name}:v1`]), "push");
    assert.match(push.stdout, new RegExp(`The push refers to repository \\[${name}\\]`));
    assert.match(push.stdout, /: Pushed\n/);
    const m = /v1: digest: (sha256:[a-f0-9]{64}) size: (\d+)/.exec(push.stdout);
    assert.ok(m, push.stdout);
    const digest = m![1]!;
    assert.deepEqual(await repoDigests(`${name}:v1`), [`${name}@${digest}`]);
    // The registry serves exactly what we computed.
    const man = await new Promise<Buffer>((r, f) => http.get(`${reg.url}/v2/test/bb/manifests/v1`, { headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } }, (res) => { const c: Buffer[] = []; res.on("data", (x: Buffer) => c.push(x)); res.on("end", () => r(Buffer.concat(c))); }).on("error", f));
    assert.equal(`sha256:${createHash("sha256").update(man).digest("hex")}`, digest);
    assert.equal(man.length, Number(m![2]));

    const again = ok(await d.wharf(["push", `${name}:v1`]), "push again");
    assert.match(again.stdout, /: Layer already exists\n/);
    assert.doesNotMatch(again.stdout, /: Pushed\n/);

    // Remove every name of the image: the image and its layers go.
    ok(await d.wharf(["rmi", `${name}:v1`, "busybox"]), "rmi");
    assert.equal(await imageId(busyboxId), undefined, "the image is gone");

    const pull = ok(await d.wharf(["pull", `${name}:v1`]), "pull");
    assert.match(pull.stdout, /v1: Pulling from test\/bb\n/);
    assert.match(pull.stdout, /: Pull complete\n/);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}\n`));
    assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${name}:v1\n${name}:v1\n$`));
    assert.equal(await imageId(`${name}:v1`), busyboxId, "same image ID as before the push");
    assert.deepEqual(await repoDigests(`${name}:v1`), [`${name}@${digest}`]);
    assert.equal(ok(await d.wharf(["run", "--rm", `${name}:v1`, "echo", "pulled"]), "run").stdout, "pulled\n");
    ok(await d.wharf(["tag", `${name}:v1`, "busybox"]), "retag busybox");

    // Again: nothing to download. By digest: the same image.
    const up = ok(await d.wharf(["pull", `${name}:v1`]), "pull again");
    assert.match(up.stdout, new RegExp(`Status: Image is up to date for ${name}:v1\n`));
    const byDigest = ok(await d.wharf(["pull", `${name}@${digest}`]), "pull by digest");
    assert.match(byDigest.stdout, new RegExp(`${digest}: Pulling from test/bb`));
    assert.match(byDigest.stdout, new RegExp(`Status: Image is up to date for ${name}@${digest}\n`));
    assert.equal(await imageId(`${name}@${digest}`), busyboxId);
    const quiet = ok(await d.wharf(["pull", "-q", `${name}:v1`]), "pull -q");
    assert.equal(quiet.stdout, `${name}:v1\n`);

    // Another repository of the same registry: the layer is mounted from the one we pulled from.
    ok(await d.wharf(["tag", "busybox", `${name}-copy:v1`]), "tag");
    const mount = ok(await d.wharf(["push", `${name}-copy:v1`]), "push copy");
    assert.match(mount.stdout, /: Mounted from test\/bb\n/);
    assert.match(reg.log, /POST \/v2\/test\/bb-copy\/blobs\/uploads\/\?mount=sha256%3A[a-f0-9]{64}&from=test%2Fbb 201/);

    // Missing things are Docker's errors.
    const missing = await d.wharf(["pull", `${name}:nope`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, new RegExp(`manifest for ${name}:nope not found: manifest unknown`));
    const noImage = await d.wharf(["push", `${reg.hostPort}/never/tagged:v1`]);
    assert.equal(noImage.code, 1);
    assert.match(noImage.stderr, /An image does not exist locally with the tag: 127\.0\.0\.1:\d+\/never\/tagged/);
    await reg.stop();
  });

  test("(a) run and create pull a missing image: 'Unable to find image', the pull, then the container", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"));
    const ref = `${reg.hostPort}/auto/own`;
    const id = await ownImage(`${ref}:latest`);
    ok(await d.wharf(["push", ref]), "push");
    ok(await d.wharf(["rmi", ref]), "rmi");
    assert.equal(await imageId(id), undefined);
    const run = ok(await d.wharf(["run", "--rm", ref, "sh", "-c", "wc -c < /payload"]), "run");
    assert.equal(run.stdout.trim(), "300000");
    assert.match(run.stderr, new RegExp(`^Unable to find image '${ref}:latest' locally\nlatest: Pulling from auto/own\n`));
    assert.match(run.stderr, /: Already exists\n/, "busybox's layer is shared");
    assert.match(run.stderr, /: Pull complete\n/);
    assert.match(run.stderr, new RegExp(`Status: Downloaded newer image for ${ref}:latest\n`));
    assert.equal(await imageId(ref), id);
    ok(await d.wharf(["rmi", ref]), "rmi");
    const created = ok(await d.wharf(["create", "-q", ref, "true"]), "create -q");
    assert.match(created.stdout, /^[a-f0-9]{64}\n$/);
    assert.doesNotMatch(created.stderr, /Pulling/, "-q hides the pull output");
    ok(await d.wharf(["rm", created.stdout.trim()]), "rm");
    // A build whose FROM image is missing pulls it too.
    ok(await d.wharf(["rmi", ref]), "rmi");
    const ctx = await tempDir("wharf-build-ctx-");
    await writeFile(join(ctx, "Dockerfile"), `FROM ${ref}\nRUN wc -c < /payload > /n\n`);
    const built = ok(await d.wharf(["build", "-t", `built-${unique()}`, ctx]), "build");
    assert.match(built.stdout, /latest: Pulling from auto\/own/);
    assert.match(built.stdout, /Status: Downloaded newer image for/);
    assert.equal(await imageId(ref), id);
    const never = await d.wharf(["run", "--rm", "--pull", "never", `${reg.hostPort}/auto/absent`, "true"]);
    assert.equal(never.code, 125);
    assert.match(never.stderr, /No such image/);
    await reg.stop();
  });

  test("(b) push and pull against Debian's docker-registry (Distribution 2.8)", { skip: existsSync(dockerRegistryBin) ? false : "docker-registry is not installed (scripts/test.sh installs it)" }, async () => {
    const reg = await DockerRegistry.start();
    dockerRegistries.push(reg);
    const ref = `${reg.hostPort}/dist/own:v2`;
    const id = await ownImage(ref, 3 << 20);
    const push = ok(await d.wharf(["push", ref]), "push");
    assert.match(push.stdout, /v2: digest: sha256:[a-f0-9]{64} size: \d+/);
    ok(await d.wharf(["rmi", ref]), "rmi");
    assert.equal(await imageId(id), undefined);
    const pull = ok(await d.wharf(["pull", ref]), "pull");
    assert.match(pull.stdout, /Status: Downloaded newer image for/);
    assert.equal(await imageId(ref), id, "same image ID");
    assert.equal(ok(await d.wharf(["run", "--rm", ref, "sh", "-c", "wc -c < /payload"]), "run").stdout.trim(), String(3 << 20));
    // A second repository: Distribution mounts too.
    ok(await d.wharf(["tag", ref, `${reg.hostPort}/dist/other:v2`]), "tag");
    assert.match(ok(await d.wharf(["push", `${reg.hostPort}/dist/other:v2`]), "push other").stdout, /Mounted from dist\/own/);
    await reg.stop();
  });

  test("(c) token auth: 401 → token → success; bad password is `unauthorized`, exit 1; wharf login/logout; the docker CLI through our daemon", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"), ["--htpasswd", await htpasswdFile(), "--token-realm", "--token-service", "wharf-test"]);
    const name = `${reg.hostPort}/secure/bb`;
    ok(await d.wharf(["tag", "busybox", `${name}:v1`]), "tag");
    const anonymous = await d.wharf(["push", `${name}:v1`]);
    assert.equal(anonymous.code, 1, anonymous.stdout + anonymous.stderr);
    assert.match(anonymous.stderr, /unauthorized/);

    const bad = await d.wharf(["login", "-u", "alice", "--password-stdin", reg.hostPort], { input: "wrong\n" });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unauthorized: incorrect username or password/);
    const configPath = join(d.dir, "docker-config", "config.json");
    assert.equal(existsSync(configPath), false, "nothing stored for a failed login");

    const login = ok(await d.wharf(["login", "-u", "alice", "--password-stdin", reg.hostPort], { input: `${alicePassword}\n` }), "login");
    assert.match(login.stdout, /Login Succeeded/);
    const stored = JSON.parse(await readFile(configPath, "utf8")) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(stored.auths[reg.hostPort]!.auth, "base64").toString(), `alice:${alicePassword}`);

    const push = ok(await d.wharf(["push", `${name}:v1`]), "push with login");
    assert.match(push.stdout, /v1: digest: sha256:/);
    assert.match(reg.log, /GET \/token\?[^ ]*scope=repository%3Asecure%2Fbb%3Apull%2Cpush[^ ]* 200/);
    ok(await d.wharf(["rmi", `${name}:v1`]), "rmi");
    ok(await d.wharf(["pull", `${name}:v1`]), "pull with login");
    ok(await d.wharf(["rmi", `${name}:v1`]), "rmi");

    const logout = ok(await d.wharf(["logout", reg.hostPort]), "logout");
    assert.equal(logout.stdout, `Removing login credentials for ${reg.hostPort}\n`);
    const denied = await d.wharf(["pull", `${name}:v1`]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /pull access denied for 127\.0\.0\.1:\d+\/secure\/bb.*unauthorized/);
    assert.equal(await imageId(`${name}:v1`), undefined);

    // The real docker CLI, with our daemon doing the registry work.
    const dlogin = await d.docker(["login", "-u", "alice", "--password-stdin", reg.hostPort], { input: alicePassword });
    assert.equal(dlogin.code, 0, dlogin.stderr);
    assert.match(dlogin.stdout, /Login Succeeded/);
    const dbad = await d.docker(["login", "-u", "alice", "--password-stdin", reg.hostPort], { input: "nope" });
    assert.notEqual(dbad.code, 0);
    assert.match(dbad.stderr, /unauthorized/);
    ok(await d.docker(["tag", "busybox", `${name}:docker`]), "docker tag");
    const dpush = await d.docker(["push", `${name}:docker`]);
    assert.equal(dpush.code, 0, dpush.stdout + dpush.stderr);
    assert.match(dpush.stdout, /docker: digest: sha256:[a-f0-9]{64} size: \d+/);
    ok(await d.docker(["rmi", `${name}:docker`]), "docker rmi");
    const dpull = await d.docker(["pull", `${name}:docker`]);
    assert.equal(dpull.code, 0, dpull.stdout + dpull.stderr);
    assert.match(dpull.stdout, /Status: (Downloaded newer image|Image is up to date) for/);
    assert.equal(await imageId(`${name}:docker`), busyboxId);
    await reg.stop();
  });

  test("credential helpers: credsStore keeps the login out of config.json; push, pull and logout go through the helper, for the docker CLI too", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"), ["--htpasswd", await htpasswdFile(), "--token-realm", "--token-service", "wharf-test"]);
    // A real helper program speaking the protocol (verb as argument, stdin/stdout), keeping secrets in a dir of its own.
    const bin = await tempDir("wharf-credhelper-");
    const vault = join(bin, "vault");
    await writeFile(join(bin, "docker-credential-wharftest"), `#!${process.execPath}
const fs = require("fs"), path = require("path");
const vault = ${JSON.stringify(vault)};
fs.mkdirSync(vault, { recursive: true });
const input = fs.readFileSync(0, "utf8").trim();
const file = (url) => path.join(vault, Buffer.from(url).toString("hex"));
const verb = process.argv[2];
fs.appendFileSync(path.join(vault, "..", "calls"), verb + "\\n");
if (verb === "store") { const r = JSON.parse(input); fs.writeFileSync(file(r.ServerURL), JSON.stringify(r)); }
else if (verb === "get") { if (!fs.existsSync(file(input))) { process.stdout.write("credentials not found in native keychain"); process.exit(1); } process.stdout.write(fs.readFileSync(file(input))); }
else if (verb === "erase") { if (!fs.existsSync(file(input))) { process.stdout.write("credentials not found in native keychain"); process.exit(1); } fs.unlinkSync(file(input)); }
else { process.exit(1); }
`, { mode: 0o755 });
    const configDir = await tempDir("wharf-credconfig-");
    await writeFile(join(configDir, "config.json"), JSON.stringify({ credsStore: "wharftest" }));
    const env = { ...d.env(), DOCKER_CONFIG: configDir, PATH: `${bin}:${process.env.PATH}` };
    const wharf = (args: string[], input?: string) => runCommand(process.execPath, [wharfBin, ...args], env, input);
    const docker = (args: string[], input?: string) => runCommand("docker", args, env, input);

    const login = ok(await wharf(["login", "-u", "alice", "--password-stdin", reg.hostPort], `${alicePassword}\n`), "login");
    assert.match(login.stdout, /Login Succeeded/);
    assert.doesNotMatch(login.stderr, /unencrypted/);
    const config = JSON.parse(await readFile(join(configDir, "config.json"), "utf8")) as { credsStore: string; auths: Record<string, unknown> };
    assert.deepEqual(config, { credsStore: "wharftest", auths: { [reg.hostPort]: {} } }, "no secret in the file");
    const kept = JSON.parse(await readFile(join(vault, Buffer.from(reg.hostPort).toString("hex")), "utf8")) as Record<string, string>;
    assert.deepEqual(kept, { ServerURL: reg.hostPort, Username: "alice", Secret: alicePassword });

    const name = `${reg.hostPort}/helper/bb`;
    ok(await wharf(["tag", "busybox", `${name}:v1`]), "tag");
    ok(await wharf(["push", `${name}:v1`]), "push with the helper's credentials");
    // The docker CLI asks the same helper, and finds wharf's login.
    ok(await docker(["tag", "busybox", `${name}:docker`]), "docker tag");
    ok(await docker(["push", `${name}:docker`]), "docker push");
    const calls = await readFile(join(bin, "calls"), "utf8");
    assert.ok(calls.split("\n").filter((c) => c === "get").length >= 2, calls);

    assert.equal(ok(await wharf(["logout", reg.hostPort]), "logout").stdout, `Removing login credentials for ${reg.hostPort}\n`);
    assert.equal(existsSync(join(vault, Buffer.from(reg.hostPort).toString("hex"))), false, "erased from the helper");
    ok(await wharf(["rmi", `${name}:v1`, `${name}:docker`]), "rmi");
    const denied = await wharf(["pull", `${name}:v1`]);
    assert.equal(denied.code, 1);
    assert.match(denied.stderr, /unauthorized/);

    // A helper that is not installed: one clear line, exit 1.
    await writeFile(join(configDir, "config.json"), JSON.stringify({ credHelpers: { [reg.hostPort]: "missing" } }));
    const missing = await wharf(["pull", `${name}:v1`]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim(), 'error getting credentials - err: exec: "docker-credential-missing": executable file not found in $PATH');
    await reg.stop();
  });

  test("(d) a registry answering 500 or dropping blobs: bounded retries, a clear error, nothing tagged; one drop is resumed with Range", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"));
    const proxy = await FaultyProxy.start(reg.url);
    proxies.push(proxy);
    const ref = `${proxy.hostPort}/flaky/own:v1`;
    const id = await ownImage(ref, 400_000);
    ok(await d.wharf(["push", ref]), "push through the proxy");
    ok(await d.wharf(["rmi", ref]), "rmi");
    assert.equal(await imageId(id), undefined);

    proxy.fault = (req) => (isBlobGet(req) ? "500" : "pass");
    proxy.log.length = 0;
    const fiveHundred = await d.wharf(["pull", ref]);
    assert.equal(fiveHundred.code, 1, fiveHundred.stdout);
    assert.match(fiveHundred.stderr, /500 Internal Server Error.*gave up after 4 attempts/);
    const blobGets = proxy.log.filter((l) => l.method === "GET" && l.url.includes("/blobs/"));
    assert.equal(new Set(blobGets.map((l) => l.url)).size, 1, "it stopped at the first blob");
    assert.equal(blobGets.length, 4, "1 attempt + 3 retries");
    assert.equal(await imageId(ref), undefined, "nothing tagged");

    // The layer (the only big blob) is cut halfway every time.
    proxy.fault = () => "pass";
    const layerDigest = await topLayer(proxy, "flaky/own", "v1");
    proxy.fault = (req) => (req.method === "GET" && (req.url ?? "").endsWith(`/blobs/${layerDigest}`) ? "drop" : "pass");
    proxy.log.length = 0;
    const dropped = await d.wharf(["pull", ref]);
    assert.equal(dropped.code, 1, dropped.stdout);
    assert.match(dropped.stderr, /gave up after 4 attempts/);
    const layerGets = proxy.log.filter((l) => l.url.endsWith(`/blobs/${layerDigest}`));
    assert.equal(layerGets.length, 4, JSON.stringify(layerGets));
    assert.ok(layerGets.slice(1).every((l) => /^bytes=\d+-$/.test(l.range ?? "")), `resumed with Range: ${JSON.stringify(layerGets)}`);
    assert.equal(await imageId(ref), undefined, "nothing tagged");
    assert.doesNotMatch(ok(await d.wharf(["images", "--format", "{{.Repository}}"]), "images").stdout, /flaky/);

    // Dropped once: resumed where it stopped, and the image arrives whole.
    let drops = 0;
    proxy.fault = (req) => (req.method === "GET" && (req.url ?? "").endsWith(`/blobs/${layerDigest}`) && drops++ === 0 ? "drop" : "pass");
    proxy.log.length = 0;
    ok(await d.wharf(["pull", ref]), "pull after one drop");
    const resumed = proxy.log.filter((l) => l.url.endsWith(`/blobs/${layerDigest}`));
    assert.equal(resumed.length, 2);
    assert.match(resumed[1]!.range ?? "", /^bytes=[1-9]\d*-$/);
    assert.equal(await imageId(ref), id);
    assert.equal(ok(await d.wharf(["run", "--rm", ref, "sh", "-c", "wc -c < /payload"]), "run").stdout.trim(), "400000");
    await reg.stop();
  });

  test("(d) invalid names are refused before any network call", async () => {
    const reg = await ChildRegistry.start(await tempDir("wharf-registry-"));
    const proxy = await FaultyProxy.start(reg.url);
    proxies.push(proxy);
    for (const bad of [`${proxy.hostPort}/UPPER/case`, `${proxy.hostPort}/a//b`, `${proxy.hostPort}/x:${"t".repeat(129)}`, "UPPER/case"]) {
      const r = await d.wharf(["pull", bad]);
      assert.equal(r.code, 1, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /invalid reference format/);
      const p = await d.wharf(["push", bad]);
      assert.equal(p.code, 1, `${bad}: ${p.stderr}`);
      assert.match(p.stderr, /invalid reference format/);
    }
    // The daemon refuses them too (a client that skipped the check).
    const viaApi = await new Promise<number>((r, f) => {
      const req = http.request({ socketPath: d.socket, method: "POST", path: `/v1.45/images/create?fromImage=${encodeURIComponent(`${proxy.hostPort}/UPPER/case`)}&tag=latest` }, (res) => {
        res.resume();
        r(res.statusCode ?? 0);
      });
      req.on("error", f);
      req.end();
    });
    assert.equal(viaApi, 400);
    assert.deepEqual(proxy.log, [], "the registry never heard of them");
    await reg.stop();
  });
});

// ------------------------------------------------------------------ in process: the client alone

describe("registry client in process", { skip: skipAll }, () => {
  let srv: RegistryServer;
  let proxy: FaultyProxy;
  let images: LocalImageStore;

  before(async () => {
    srv = await startRegistryServer({ addr: { host: "127.0.0.1", port: 0 }, root: await tempDir("wharf-registry-"), auth: { kind: "none" } });
    proxy = await FaultyProxy.start(srv.url);
    const root = await tempDir("wharf-client-store-");
    images = await LocalImageStore.open(join(root, "image"), await LocalContentStore.open(join(root, "content")));
    const { createReadStream } = await import("node:fs");
    await loadImages(images, createReadStream(busyboxTar));
  });
  after(async () => {
    await proxy?.close();
    await srv?.close();
    await cleanupTempDirs();
  });

  test("chunked upload: PATCH per chunk with Content-Range, a dropped chunk resumes from the registry's offset", async () => {
    const client = new HttpRegistryClient({ chunkSize: 64 * 1024, retryDelayMs: 10 });
    try {
      const data = randomBytes(300 * 1024 + 17);
      const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
      let patches = 0;
      proxy.fault = (req) => (req.method === "PATCH" && ++patches === 2 ? "500" : "pass");
      proxy.log.length = 0;
      const s = client.session(proxy.hostPort, "chunked/blob", ["pull", "push"]);
      const seen: number[] = [];
      await s.uploadBlob(digest, data.length, async (start) => Readable.from([data.subarray(start)]), { onProgress: (n) => seen.push(n) });
      const patchLog = proxy.log.filter((l) => l.method === "PATCH");
      assert.ok(patchLog.length >= 6, `${patchLog.length} PATCHes`);
      assert.ok(proxy.log.some((l) => l.method === "GET" && l.url.includes("/blobs/uploads/")), "asked the registry where the upload stands");
      assert.equal(seen.at(-1), data.length);
      assert.deepEqual(await s.statBlob(digest), { size: data.length });
      const back = await s.openBlob(digest, { size: data.length });
      const chunks: Buffer[] = [];
      for await (const c of back.stream) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(data));
    } finally {
      client.close();
    }
  });

  test("a registry that stalls mid-blob: the idle timeout drops the connection, the read resumes, then gives up", async () => {
    const client = new HttpRegistryClient({ retryDelayMs: 10, idleTimeoutMs: 300 });
    try {
      const data = randomBytes(200_000);
      const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
      proxy.fault = () => "pass";
      const s = client.session(proxy.hostPort, "stall/blob", ["pull", "push"]);
      // A monolithic upload whose PUT fails once is started again.
      let puts = 0;
      proxy.fault = (req) => (req.method === "PUT" && ++puts === 1 ? "500" : "pass");
      await s.uploadBlob(digest, data.length, async (start) => Readable.from([data.subarray(start)]));
      assert.equal(puts, 2);
      let stalls = 0;
      proxy.fault = (req) => (isBlobGet(req) && stalls++ === 0 ? "hang" : "pass");
      proxy.log.length = 0;
      const chunks: Buffer[] = [];
      for await (const c of (await s.openBlob(digest, { size: data.length })).stream) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(data));
      assert.match(proxy.log[1]?.range ?? "", /^bytes=[1-9]\d*-$/);
      proxy.fault = (req) => (isBlobGet(req) ? "hang" : "pass");
      proxy.log.length = 0;
      const started = Date.now();
      await assert.rejects(
        (async () => {
          for await (const c of (await s.openBlob(digest, { size: data.length })).stream) void c;
        })(),
        (e: unknown) => e instanceof UnavailableError && /no data for 300ms.*gave up after 4 attempts/.test(e.message),
      );
      assert.equal(proxy.log.length, 4);
      assert.ok(Date.now() - started < 10_000);
    } finally {
      proxy.fault = () => "pass";
      client.close();
    }
  });

  test("Basic auth registries: credentials on every request, none is `unauthorized`", async () => {
    const basicSrv = await startRegistryServer({ addr: { host: "127.0.0.1", port: 0 }, root: await tempDir("wharf-registry-"), auth: { kind: "basic", htpasswd: await htpasswdFile() } });
    const client = new HttpRegistryClient({ retryDelayMs: 10 });
    try {
      const hostPort = basicSrv.url.replace("http://", "");
      await images.tag("busybox", `${hostPort}/basic/bb:v1`);
      await assert.rejects(pushImage(`${hostPort}/basic/bb:v1`, { client, images }), (e: unknown) => e instanceof UnauthorizedError && /unauthorized/.test(e.message));
      await assert.rejects(client.login(hostPort, { username: "alice", password: "wrong" }), UnauthorizedError);
      await client.login(hostPort, { username: "alice", password: alicePassword });
      const credentials = { username: "alice", password: alicePassword };
      const pushed = await pushImage(`${hostPort}/basic/bb:v1`, { client, images, credentials });
      const root = await tempDir("wharf-client-store-");
      const fresh = await LocalImageStore.open(join(root, "image"), await LocalContentStore.open(join(root, "content")));
      await assert.rejects(pullImage(`${hostPort}/basic/bb:v1`, { client, images: fresh }), (e: unknown) => e instanceof UnauthorizedError && /pull access denied/.test(e.message));
      const pulled = await pullImage(`${hostPort}/basic/bb:v1`, { client, images: fresh, credentials });
      assert.equal(pulled.digest, pushed.digest);
      assert.equal(pulled.image.id, (await images.get("busybox")).id);
    } finally {
      client.close();
      await basicSrv.close();
    }
  });

  test("pull and push with the library: progress messages in Docker's shape; a 503 on the manifest is retried", async () => {
    const client = new HttpRegistryClient({ retryDelayMs: 10 });
    try {
      const messages: ProgressMessage[] = [];
      proxy.fault = () => "pass";
      const pushed = await pushImage(`${proxy.hostPort}/lib/bb:v1`, {
        client,
        images: await tagged(images, `${proxy.hostPort}/lib/bb:v1`),
        progress: (m) => messages.push(m),
      });
      assert.equal(messages[0]!.status, `The push refers to repository [${proxy.hostPort}/lib/bb]`);
      assert.ok(messages.some((m) => m.status === "Preparing" && /^[a-f0-9]{12}$/.test(m.id ?? "")));
      assert.ok(messages.some((m) => m.status === "Pushed" || m.status === "Layer already exists"));
      assert.deepEqual(messages.at(-1), { progressDetail: {}, aux: { Tag: "v1", Digest: pushed.digest, Size: pushed.size } });

      let manifestGets = 0;
      proxy.fault = (req) => (req.method === "GET" && (req.url ?? "").includes("/manifests/") && ++manifestGets === 1 ? "500" : "pass");
      const root = await tempDir("wharf-client-store-");
      const fresh = await LocalImageStore.open(join(root, "image"), await LocalContentStore.open(join(root, "content")));
      const pulled: ProgressMessage[] = [];
      const result = await pullImage(`${proxy.hostPort}/lib/bb:v1`, { client, images: fresh, progress: (m) => pulled.push(m) });
      assert.equal(manifestGets, 2);
      assert.deepEqual(pulled[0], { status: "Pulling from lib/bb", id: "v1" });
      assert.ok(pulled.some((m) => m.status === "Pulling fs layer"));
      assert.ok(pulled.some((m) => m.status === "Downloading" && typeof m.progressDetail?.total === "number" && /^\[=*>/.test(m.progress ?? "")));
      assert.ok(pulled.some((m) => m.status === "Download complete"));
      assert.deepEqual(pulled.at(-2), { status: `Digest: ${pushed.digest}` });
      assert.deepEqual(pulled.at(-1), { status: `Status: Downloaded newer image for ${proxy.hostPort}/lib/bb:v1` });
      assert.equal(result.image.id, (await images.get("busybox")).id);
      assert.deepEqual(result.image.repoDigests, [`${proxy.hostPort}/lib/bb@${pushed.digest}`]);

      // An index (OCI) with an arm64 entry first: the host's linux/amd64 entry is the one pulled.
      // (Its one layer is gzip'd, so the pull computes a diffID through gunzip on the way in.)
      const other = await importRootfs(images, Readable.from([gzipSync(await tarOf("/other.txt", "other"))]), { ref: `${proxy.hostPort}/lib/bb:other`, architecture: "arm64" });
      const otherPush = await pushImage(`${proxy.hostPort}/lib/bb:other`, { client, images });
      const index = Buffer.from(JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [
          { mediaType: MediaTypes.dockerManifest, digest: otherPush.digest, size: otherPush.size, platform: { os: "linux", architecture: "arm64" } },
          { mediaType: MediaTypes.dockerManifest, digest: pushed.digest, size: pushed.size, platform: { os: "linux", architecture: ociArchitecture() } },
        ],
      }));
      const indexDigest = await client.session(proxy.hostPort, "lib/bb", ["pull", "push"]).putManifest("multi", index, MediaTypes.ociIndex);
      const multi = await pullImage(`${proxy.hostPort}/lib/bb:multi`, { client, images: fresh });
      assert.equal(multi.image.id, result.image.id);
      assert.notEqual(multi.image.id, other.id);
      assert.equal(multi.digest, indexDigest);
      assert.ok(multi.image.repoDigests.includes(`${proxy.hostPort}/lib/bb@${indexDigest}`), "the repo digest is the index's");
      const arm = await pullImage(`${proxy.hostPort}/lib/bb:multi`, { client, images: fresh, platform: { os: "linux", architecture: "arm64" } });
      assert.equal(arm.image.id, other.id);
      assert.equal(arm.image.layers[0]!.mediaType, MediaTypes.dockerLayerGzip, "stored compressed, as pulled");
      assert.equal(arm.image.layers[0]!.digest, other.layers[0]!.digest);

      // A registry that keeps failing: UnavailableError naming the attempts, nothing tagged.
      proxy.fault = (req) => (req.method === "GET" && (req.url ?? "").includes("/manifests/") ? "500" : "pass");
      const empty = await LocalImageStore.open(join(root, "image2"), fresh.content);
      await assert.rejects(pullImage(`${proxy.hostPort}/lib/bb:v1`, { client, images: empty }), (e: unknown) => e instanceof UnavailableError && /gave up after 4 attempts/.test(e.message));
      assert.deepEqual(await empty.list(), []);
    } finally {
      proxy.fault = () => "pass";
      client.close();
    }
  });
});

/** The top layer's blob digest, from the registry's manifest (what the client will fetch). */
async function topLayer(proxy: FaultyProxy, repo: string, tag: string): Promise<string> {
  const body = await new Promise<Buffer>((r, f) =>
    http.get(`http://${proxy.hostPort}/v2/${repo}/manifests/${tag}`, { agent: false, headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" } }, (res) => {
      const c: Buffer[] = [];
      res.on("data", (x: Buffer) => c.push(x));
      res.on("end", () => r(Buffer.concat(c)));
    }).on("error", f),
  );
  const m = JSON.parse(body.toString()) as { layers: Array<{ digest: string }> };
  return m.layers[m.layers.length - 1]!.digest;
}

/** A one-file tar. */
async function tarOf(path: string, text: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name: path.replace(/^\//, ""), mode: 0o644 }, text);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

async function tagged(store: LocalImageStore, ref: string): Promise<LocalImageStore> {
  await store.tag("busybox", ref);
  return store;
}
