/**
 * The storage layers end to end on the real base image: build busybox:latest
 * with scripts/make-busybox-image.sh, load it, unpack and mount it with
 * overlayfs, run a shell in it, then commit a change and run that.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalContentStore } from "../src/content/index.js";
import { LocalImageStore, commitImage, loadImages, type ImageRecord } from "../src/image/index.js";
import { OverlaySnapshotter } from "../src/snapshot/index.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("storage: busybox image end to end", () => {
  let root: string;
  let content: LocalContentStore;
  let images: LocalImageStore;
  let snap: OverlaySnapshotter;
  const containers: string[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wharf-test-storage-"));
    content = await LocalContentStore.open(join(root, "content"));
    images = await LocalImageStore.open(join(root, "image"), content);
    snap = await OverlaySnapshotter.open(join(root, "snapshots"));
  });
  after(async () => {
    for (const id of containers) await snap.remove(id).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  async function rootfsOf(img: ImageRecord, id: string): Promise<string> {
    const lowers = await snap.prepareImage(img.layers.map((l) => ({ diffId: l.diffId, open: () => content.readStream(l.digest) })));
    containers.push(id);
    await snap.createRw(id, lowers);
    return snap.mount(id);
  }

  const chroot = (dir: string, script: string) => execFileSync("chroot", [dir, "/bin/sh", "-c", script], { encoding: "utf8", env: { PATH: "/bin:/usr/bin:/sbin:/usr/sbin" } });

  it("builds a reproducible archive, loads it, mounts it and runs sh in it", async () => {
    const tarPath = join(root, "busybox.tar");
    execFileSync(join(repo, "scripts", "make-busybox-image.sh"), [tarPath], { stdio: ["ignore", "ignore", "pipe"] });
    const again = join(root, "busybox-again.tar");
    execFileSync(join(repo, "scripts", "make-busybox-image.sh"), [again], { stdio: ["ignore", "ignore", "pipe"] });
    assert.equal(execFileSync("sha256sum", [tarPath]).toString().split(" ")[0], execFileSync("sha256sum", [again]).toString().split(" ")[0]);

    const result = await loadImages(images, createReadStream(tarPath));
    assert.deepEqual(result.loaded, ["Loaded image: busybox:latest"]);
    const img = await images.get("busybox");
    assert.equal(img.id, result.images[0]!.id);
    assert.deepEqual(img.repoTags, ["busybox:latest"]);
    assert.deepEqual(img.config.config?.Cmd, ["sh"]);
    assert.deepEqual(img.config.config?.Env, ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]);
    assert.equal(img.config.os, "linux");
    assert.equal(img.layers.length, 1);
    assert.equal(img.layers[0]!.mediaType, "application/vnd.oci.image.layer.v1.tar");
    // Loading the same archive again changes nothing.
    const twice = await loadImages(images, createReadStream(tarPath));
    assert.equal(twice.images[0]!.id, img.id);
    assert.equal((await images.list()).length, 1);

    const merged = await rootfsOf(img, "bb1");
    assert.equal(chroot(merged, "echo hi"), "hi\n");
    assert.match(chroot(merged, "id -u; ls /usr/bin/env /sbin/ifconfig >/dev/null && echo applets-ok"), /^0\napplets-ok\n$/);
    assert.match(chroot(merged, "grep ^nobody: /etc/passwd"), /^nobody:x:65534:65534:/);
    assert.equal((await stat(join(merged, "tmp"))).mode & 0o7777, 0o1777);
    for (const d of ["proc", "sys", "dev", "root", "home", "var", "usr/bin", "etc"]) assert.ok((await stat(join(merged, d))).isDirectory(), d);
    for (const f of ["etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/group"]) assert.ok((await stat(join(merged, f))).isFile(), f);
  });

  it("commits a container's changes into a new image that runs", async () => {
    const merged = join(root, "snapshots", "containers", "bb1", "merged");
    chroot(merged, "rm /etc/hostname && mkdir -p /srv/app && echo data > /srv/app/file && rm -rf /home && mkdir /home && echo new > /home/readme");
    const base = await images.get("busybox");
    const committed = await commitImage(images, base.id, await snap.diff("bb1"), { changes: { Cmd: ["cat", "/srv/app/file"] }, ref: "bb-commit:1", createdBy: "sh -c changes" });
    assert.equal(committed.layers.length, 2);
    assert.deepEqual(committed.repoTags, ["bb-commit:1"]);
    await snap.remove("bb1");

    const merged2 = await rootfsOf(committed, "bb2");
    assert.equal(chroot(merged2, "cat /srv/app/file"), "data\n");
    assert.equal(chroot(merged2, "test -e /etc/hostname && echo present || echo gone"), "gone\n");
    assert.equal(chroot(merged2, "ls -A /home"), "readme\n");
    await snap.unmount("bb2");
    assert.equal(await snap.isMounted("bb2"), false);
  });
});
