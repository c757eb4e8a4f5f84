import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile, stat } from "node:fs/promises";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import { TestDaemon } from "./support/daemon.js";

/** Images (commit, tag, rmi, save/load, import) and mounts (binds, volumes, cp) through the real daemon. */
const run = promisify(execFile);
let daemon: TestDaemon;
let host: string;
const p = `wharftest-${randomBytes(3).toString("hex")}`;

before(async () => {
  daemon = await TestDaemon.start();
  host = await mkdtemp("/tmp/wharf-test-host-");
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

test("commit turns a container's changes into a layer on top of its image", async () => {
  await ok(["run", "--name", `${p}-c`, "busybox", "sh", "-c", "echo committed > /hello.txt; rm /etc/group"]);
  const id = (await ok(["commit", "-c", "CMD [\"cat\", \"/hello.txt\"]", "-m", "a message", "-a", "tester", `${p}-c`, `${p}-img:v1`])).trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal(await ok(["run", "--rm", `${p}-img:v1`]), "committed\n");
  // The deletion travelled as a whiteout.
  assert.equal((await daemon.wharf(["run", "--rm", `${p}-img:v1`, "ls", "/etc/group"])).code, 1);
  const history = await ok(["history", "--format", "{{.Comment}}", `${p}-img:v1`]);
  assert.match(history, /a message/);
  const layers = await ok(["inspect", "-f", "{{len .RootFS.Layers}} {{.Author}}", `${p}-img:v1`]);
  assert.equal(layers.trim(), "2 tester");
  await ok(["rm", `${p}-c`]);
});

test("tag, rmi untags first, then refuses while a container uses the image", async () => {
  await ok(["tag", `${p}-img:v1`, `${p}-img:v2`]);
  assert.match(await ok(["images", "--format", "{{.Repository}}:{{.Tag}}"]), new RegExp(`${p}-img:v2`));
  assert.match(await ok(["rmi", `${p}-img:v2`]), /Untagged: .*-img:v2/);
  await ok(["create", "--name", `${p}-user`, `${p}-img:v1`]);
  const refused = await daemon.wharf(["rmi", `${p}-img:v1`]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /conflict: unable to (remove repository reference|delete)/);
  await ok(["rm", `${p}-user`]);
  assert.match(await ok(["rmi", `${p}-img:v1`]), /Deleted: sha256:/);
});

test("save and load round-trip keeps the image ID", async () => {
  const tarPath = join(host, "busybox.tar");
  const before = (await ok(["inspect", "-f", "{{.Id}}", "busybox"])).trim();
  await ok(["save", "-o", tarPath, "busybox"]);
  assert.ok((await stat(tarPath)).size > 100_000);
  await ok(["tag", "busybox", `${p}-copy`]);
  await ok(["rmi", `${p}-copy`]);
  assert.match(await ok(["load", "-i", tarPath]), /Loaded image: busybox:latest/);
  assert.equal((await ok(["inspect", "-f", "{{.Id}}", "busybox"])).trim(), before);
});

test("import a rootfs tar with --change; cp out of a container", async () => {
  await ok(["run", "--name", `${p}-exp`, "busybox", "true"]);
  await mkdir(join(host, "rootfs/bin"), { recursive: true });
  await ok(["cp", `${p}-exp:/bin/busybox`, join(host, "rootfs/bin/busybox")]);
  assert.ok((await stat(join(host, "rootfs/bin/busybox"))).size > 100_000);
  await ok(["rm", `${p}-exp`]);
  const tarPath = join(host, "rootfs.tar");
  await run("tar", ["-C", join(host, "rootfs"), "-cf", tarPath, "."]);
  const id = (await ok(["import", "-c", 'CMD ["/bin/busybox", "echo", "imported"]', tarPath, `${p}-imported`])).trim();
  assert.match(id, /^sha256:/);
  assert.equal(await ok(["run", "--rm", `${p}-imported`]), "imported\n");
  await ok(["rmi", `${p}-imported`]);
});

test("bind mounts, read-only binds and named volumes", async () => {
  await writeFile(join(host, "in.txt"), "from host\n");
  assert.equal(await ok(["run", "--rm", "-v", `${host}:/data`, "busybox", "sh", "-c", "cat /data/in.txt; echo back > /data/out.txt"]), "from host\n");
  assert.equal(await readFile(join(host, "out.txt"), "utf8"), "back\n");
  const ro = await daemon.wharf(["run", "--rm", "-v", `${host}:/data:ro`, "busybox", "touch", "/data/x"]);
  assert.notEqual(ro.code, 0);
  assert.match(ro.stderr, /Read-only file system/);

  await ok(["run", "--rm", "-v", `${p}-vol:/store`, "busybox", "sh", "-c", "echo kept > /store/f"]);
  assert.equal(await ok(["run", "--rm", "-v", `${p}-vol:/store`, "busybox", "cat", "/store/f"]), "kept\n");
  assert.match(await ok(["volume", "ls", "-q"]), new RegExp(`${p}-vol`));
  await ok(["volume", "rm", `${p}-vol`]);
});

test("bad -v is refused with a clear message and creates nothing", async () => {
  const before = await ok(["ps", "-aq"]);
  const r = await daemon.wharf(["run", "-v", "/host-only:", "busybox", "true"]);
  assert.equal(r.code, 125);
  assert.match(r.stderr, /invalid (volume specification|spec)/);
  assert.equal(await ok(["ps", "-aq"]), before);
});
