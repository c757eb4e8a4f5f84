import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { TestDaemon } from "./support/daemon.js";

/**
 * Container filesystems out and in (export, import from a file and from a
 * URL), disk usage (`system df`, `ps -s`) and the prune verbs, through the
 * real daemon with our CLI and the real docker CLI.
 */
const run = promisify(execFile);
const p = `wharftest-${randomBytes(3).toString("hex")}`;
let daemon: TestDaemon;
let host: string;

before(async () => {
  daemon = await TestDaemon.start();
  host = await mkdtemp("/tmp/wharf-test-inout-");
});
after(async () => {
  await daemon?.stop();
  await rm(host, { recursive: true, force: true });
});

async function ok(args: string[], input?: string): Promise<string> {
  const r = await daemon.wharf(args, { input });
  assert.equal(r.code, 0, `wharf ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

async function tarListing(path: string): Promise<string[]> {
  return (await run("tar", ["-tvf", path], { maxBuffer: 64 << 20 })).stdout.trim().split("\n");
}

test("export writes the container's layers and changes as one tar; import brings it back as an image", async () => {
  await ok(["volume", "create", `${p}-vol`]);
  await ok([
    "run", "--name", `${p}-exp`, "-v", `${p}-vol:/data`, "busybox", "sh", "-c",
    "echo one > /made.txt && ln /made.txt /hard.txt && mkfifo /pipe && echo vol > /data/in-volume && rm /etc/group",
  ]);
  const out = join(host, "exported.tar");
  await ok(["export", "-o", out, `${p}-exp`]);
  const lines = await tarListing(out);
  const entries = lines.map((l) => l.split(/\s+/).slice(5).join(" "));
  const names = entries.map((e) => e.replace(/ link to .*$/, ""));
  assert.ok(names.includes("made.txt"), "the container's own file");
  assert.ok(names.includes("bin/busybox"), "the image's files");
  assert.ok(entries.includes("made.txt link to hard.txt"), `a hard link stays a link: ${entries.filter((n) => /hard|made/.test(n))}`);
  assert.ok(lines.some((l) => l.startsWith("p") && l.endsWith(" pipe")), "fifos go in");
  assert.ok(!names.some((n) => n.startsWith("./") || n.startsWith("/")), "names are relative, without ./");
  assert.ok(!names.includes("etc/group"), "a deleted file is gone (the merged view, no whiteouts)");
  assert.ok(!names.some((n) => n.includes("in-volume")), "volumes are not part of the export");

  // The real docker CLI gets the same tree; to stdout it refuses a terminal only.
  const viaDocker = await daemon.docker(["export", `${p}-exp`]);
  assert.equal(viaDocker.code, 0, viaDocker.stderr);
  assert.equal(Buffer.byteLength(viaDocker.stdout, "latin1") > 0, true);

  // Round trip: the exported tree is a working image.
  const id = (await ok(["import", "-c", 'CMD ["cat", "/made.txt"]', out, `${p}-imported:v1`])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await ok(["run", "--rm", `${p}-imported:v1`]), "one\n");

  const missing = await daemon.wharf(["export", "-o", join(host, "none.tar"), `${p}-nope`]);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr.trim(), `Error response from daemon: No such container: ${p}-nope`);
  await ok(["rm", `${p}-exp`]);
});

test("export of a running container works and leaves it running", async () => {
  await ok(["run", "-d", "--name", `${p}-live`, "busybox", "sh", "-c", "echo live > /live.txt; sleep 60"]);
  const out = join(host, "live.tar");
  for (let i = 0; i < 50 && (await daemon.wharf(["exec", `${p}-live`, "test", "-f", "/live.txt"])).code !== 0; i++) await new Promise((r) => setTimeout(r, 100));
  await ok(["export", "-o", out, `${p}-live`]);
  assert.ok((await tarListing(out)).some((l) => l.endsWith(" live.txt")));
  assert.equal((await ok(["inspect", "-f", "{{.State.Running}}", `${p}-live`])).trim(), "true");
  await ok(["rm", "-f", `${p}-live`]);
});

test("import from a URL: the daemon downloads the tar (gzip'd here); a bad URL is a clear error", async () => {
  const rootfs = gzipSync(await readFile(join(host, "exported.tar")));
  const server: Server = createServer((req, res) => {
    if (req.url === "/rootfs.tar.gz") {
      res.writeHead(200, { "Content-Type": "application/gzip", "Content-Length": rootfs.length });
      res.end(rootfs);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await ok(["import", `${base}/rootfs.tar.gz`, `${p}-fromurl:1`]);
    assert.equal(await ok(["run", "--rm", `${p}-fromurl:1`, "cat", "/made.txt"]), "one\n");
    assert.match(await ok(["history", "--format", "{{.Comment}}", `${p}-fromurl:1`]), new RegExp(`Imported from ${base}/rootfs.tar.gz`));
    const bad = await daemon.wharf(["import", `${base}/missing.tar`, `${p}-fromurl:2`]);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trim(), `Error response from daemon: failed to download ${base}/missing.tar: 404 Not Found`);
    assert.equal((await daemon.wharf(["inspect", `${p}-fromurl:2`])).code, 1, "nothing tagged");
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});

interface DiskUsage {
  LayersSize: number;
  Images: { Id: string; Size: number; SharedSize: number; Containers: number }[];
  Containers: { Names: string[]; SizeRw: number; SizeRootFs: number }[];
  Volumes: { Name: string; UsageData: { Size: number; RefCount: number } }[];
  BuildCache: unknown[];
}

test("system df counts shared layers once and reports what containers and volumes hold", async () => {
  await ok(["run", "--name", `${p}-du`, "-v", `${p}-duvol:/data`, "busybox", "sh", "-c", "head -c 300000 /dev/zero > /big && head -c 5000 /dev/zero > /data/v"]);
  await ok(["commit", `${p}-du`, `${p}-child:1`]);
  const du = JSON.parse((await daemon.docker(["system", "df", "--format", "{{json .}}"])).stdout.split("\n")[0]!) as { Type: string };
  assert.equal(du.Type, "Images", "the real docker CLI reads the answer");

  const raw = await daemon.wharf(["system", "df", "--format", "{{.Type}}|{{.TotalCount}}|{{.Active}}"]);
  assert.equal(raw.code, 0, raw.stderr);
  const rows = Object.fromEntries(raw.stdout.trim().split("\n").map((l) => { const [t, ...rest] = l.split("|"); return [t, rest.map(Number)]; }));
  assert.deepEqual(Object.keys(rows), ["Images", "Containers", "Local Volumes", "Build Cache"]);

  const api = JSON.parse((await run("curl", ["-sS", "--unix-socket", daemon.socket, "http://d/v1.45/system/df"])).stdout) as DiskUsage;
  const busybox = JSON.parse((await ok(["inspect", "busybox"])))[0] as { Id: string; Size: number };
  const child = api.Images.find((i) => i.Size > busybox.Size && i.SharedSize === busybox.Size);
  assert.ok(child, `the committed image shares busybox's layer: ${JSON.stringify(api.Images)}`);
  const bb = api.Images.find((i) => i.Id === busybox.Id)!;
  assert.ok(bb.Containers >= 1 && bb.SharedSize === busybox.Size);
  assert.ok(api.LayersSize < api.Images.reduce((n, i) => n + i.Size, 0), "a shared layer is counted once in LayersSize");
  const c = api.Containers.find((x) => x.Names[0] === `/${p}-du`)!;
  assert.ok(c.SizeRw >= 300000 && c.SizeRw < 400000, `SizeRw ${c.SizeRw}`);
  assert.equal(c.SizeRootFs, c.SizeRw + busybox.Size);
  const v = api.Volumes.find((x) => x.Name === `${p}-duvol`)!;
  assert.deepEqual(v.UsageData, { Size: 5000, RefCount: 1 });
  assert.deepEqual(api.BuildCache, []);

  // `ps -s` asks for the same sizes, through both CLIs.
  const ps = await ok(["ps", "-a", "-s", "--filter", `name=${p}-du`, "--format", "{{.Size}}"]);
  assert.match(ps.trim(), /^30\dkB \(virtual [\d.]+MB\)$/);
  const dps = await daemon.docker(["ps", "-a", "-s", "--filter", `name=${p}-du`, "--format", "{{.Size}}"]);
  assert.equal(dps.stdout.trim(), ps.trim());
  const verbose = await ok(["system", "df", "-v"]);
  assert.match(verbose, /Images space usage:[\s\S]*SHARED SIZE[\s\S]*Containers space usage:[\s\S]*Local Volumes space usage:[\s\S]*Build cache usage: 0B/);
  assert.equal((await daemon.wharf(["system", "df", "extra"])).code, 125);
});

test("prune verbs: prompt (no answer removes nothing), -f, and what each spares", async () => {
  await ok(["volume", "create", `${p}-named`]);
  await ok(["run", "--name", `${p}-anon`, "-v", "/anon", "busybox", "true"]);
  await ok(["run", "-d", "--name", `${p}-keep`, "busybox", "sleep", "60"]);

  const declined = await daemon.wharf(["container", "prune"], { input: "n\n" });
  assert.equal(declined.code, 1);
  assert.match(declined.stdout, /WARNING! This will remove all stopped containers\.\nAre you sure you want to continue\? \[y\/N\] $/);
  assert.equal(declined.stderr.trim(), "container prune has been cancelled");
  assert.equal((await daemon.wharf(["inspect", `${p}-anon`])).code, 0, "declining removed nothing");

  const pruned = await ok(["container", "prune"], "y\n");
  assert.match(pruned, /Deleted Containers:\n[0-9a-f]{64}\n[\s\S]*Total reclaimed space: /);
  assert.equal((await daemon.wharf(["inspect", `${p}-du`])).code, 1);
  assert.equal((await daemon.wharf(["inspect", `${p}-keep`])).code, 0, "running containers stay");

  // Volume prune spares named volumes unless -a (Docker 23+).
  const vols = async () => (await ok(["volume", "ls", "-q"])).trim().split("\n");
  const anonCount = (await vols()).filter((n) => /^[0-9a-f]{64}$/.test(n)).length;
  assert.ok(anonCount >= 1);
  await ok(["volume", "prune", "-f"]);
  assert.ok((await vols()).includes(`${p}-named`));
  assert.equal((await vols()).filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 0);
  assert.match(await ok(["volume", "prune", "-a", "-f"]), new RegExp(`Deleted Volumes:\\n[\\s\\S]*${p}-named`));

  // image prune -a keeps what a container uses (busybox, for the running one) and removes the rest.
  const images = await ok(["image", "prune", "-a", "-f"]);
  assert.match(images, /Deleted Images:\n(untagged: .*\n|deleted: sha256:[0-9a-f]{64}\n)+\nTotal reclaimed space: [\d.]+[kM]?B\n$/);
  const left = (await ok(["images", "--format", "{{.Repository}}"])).trim().split("\n");
  assert.deepEqual(left, ["busybox"]);

  await ok(["rm", "-f", `${p}-keep`]);
  const system = await ok(["system", "prune", "-f"]);
  assert.match(system, /Total reclaimed space:/);
  assert.deepEqual((await ok(["images", "--format", "{{.Repository}}"])).trim().split("\n"), ["busybox"], "without -a, tagged images stay");
});

test("prune filters: label, label!, until apply; a filter the daemon does not apply is refused, nothing removed", async () => {
  await ok(["create", "--name", `${p}-f-drop`, "-l", "stage=drop", "busybox", "true"]);
  await ok(["create", "--name", `${p}-f-keep`, "-l", "stage=keep", "busybox", "true"]);
  const exists = async (name: string) => (await daemon.wharf(["inspect", name])).code === 0;
  try {
    // Created just now: not before an hour ago.
    await ok(["container", "prune", "-f", "--filter", "until=1h"]);
    assert.ok((await exists(`${p}-f-drop`)) && (await exists(`${p}-f-keep`)), "until=1h spares what was created since");
    for (const bad of ["until=yesterday", "color=red"]) {
      const r = await daemon.docker(["container", "prune", "-f", "--filter", bad]);
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, /invalid filter/);
    }
    assert.match((await daemon.docker(["builder", "prune", "-f", "--filter", "until=24h"])).stderr, /invalid filter 'until'/);
    assert.ok((await exists(`${p}-f-drop`)) && (await exists(`${p}-f-keep`)), "refused filters removed nothing");

    const dropped = await ok(["container", "prune", "-f", "--filter", "label=stage=drop"]);
    assert.match(dropped, /Deleted Containers:\n[0-9a-f]{64}\n/);
    assert.ok(!(await exists(`${p}-f-drop`)) && (await exists(`${p}-f-keep`)));
    const r = await daemon.docker(["container", "prune", "-f", "--filter", "label!=stage=keep"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(await exists(`${p}-f-keep`), "label! spares the labelled one");

    await ok(["volume", "create", "--label", "team=a", `${p}-va`]);
    await ok(["volume", "create", `${p}-vb`]);
    await ok(["volume", "prune", "-a", "-f", "--filter", "label=team=a"]);
    const vols = (await ok(["volume", "ls", "-q"])).trim().split("\n");
    assert.ok(!vols.includes(`${p}-va`) && vols.includes(`${p}-vb`));
    assert.equal((await daemon.wharf(["system", "prune", "-f", "--volumes", "--filter", "until=1h"])).code, 125);
  } finally {
    await daemon.wharf(["rm", "-f", `${p}-f-drop`, `${p}-f-keep`]);
    await daemon.wharf(["volume", "rm", "-f", `${p}-va`, `${p}-vb`]);
  }
});
