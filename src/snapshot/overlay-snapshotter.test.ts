import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile, lstat, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import { tarEntries } from "../content/tar-entries.js";
import { OverlaySnapshotter } from "./overlay-snapshotter.js";
import { chainIds } from "./chain-id.js";
import { makeTar, type TestEntry } from "./test-tar.js";
import type { LayerSource } from "./snapshotter.js";

const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function layer(entries: TestEntry[]): Promise<LayerSource & { opened: number }> {
  const bytes = await makeTar(entries);
  const src = {
    diffId: sha(bytes),
    opened: 0,
    async open() {
      src.opened++;
      return Readable.from([bytes]);
    },
  };
  return src;
}

async function listTar(stream: Readable): Promise<Map<string, { type: string; body: string; linkname: string | null }>> {
  const out = new Map<string, { type: string; body: string; linkname: string | null }>();
  for await (const { header, stream: body } of tarEntries(stream)) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    out.set(header.name, { type: header.type, body: Buffer.concat(chunks).toString(), linkname: header.linkname });
  }
  return out;
}

describe("chainIds", () => {
  it("follows the OCI definition", () => {
    const a = `sha256:${"a".repeat(64)}`;
    const b = `sha256:${"b".repeat(64)}`;
    const ids = chainIds([a, b]);
    assert.equal(ids[0], a);
    assert.equal(ids[1], `sha256:${createHash("sha256").update(`${a} ${b}`).digest("hex")}`);
    assert.throws(() => chainIds(["nope"]), InvalidArgumentError);
  });
});

describe("OverlaySnapshotter", () => {
  let root: string;
  let snap: OverlaySnapshotter;
  const created: string[] = [];
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "wharf-test-snap-"));
    snap = await OverlaySnapshotter.open(root);
  });
  after(async () => {
    for (const id of created) await snap.remove(id).catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  });

  it("stacks two layers where the upper deletes a file and hides a directory's old content", async () => {
    const l1 = await layer([
      { header: { name: "etc/", type: "directory" } },
      { header: { name: "etc/keep" }, body: "keep" },
      { header: { name: "etc/motd" }, body: "hello" },
      { header: { name: "opt/", type: "directory" } },
      { header: { name: "opt/old" }, body: "old" },
    ]);
    const l2 = await layer([
      { header: { name: "etc/", type: "directory" } },
      { header: { name: "etc/.wh.motd" }, body: "" },
      { header: { name: "opt/", type: "directory" } },
      { header: { name: "opt/.wh..wh..opq" }, body: "" },
      { header: { name: "opt/new" }, body: "new" },
    ]);
    const lowers = await snap.prepareImage([l1, l2]);
    assert.equal(lowers.length, 2);
    const ids = chainIds([l1.diffId, l2.diffId]);
    assert.equal(lowers[1], snap.layerDir(ids[1]!));
    // Prepared again: nothing is opened a second time.
    assert.deepEqual(await snap.prepareImage([l1, l2]), lowers);
    assert.equal(l1.opened, 1);
    assert.equal(l2.opened, 1);

    created.push("c1");
    await snap.createRw("c1", lowers);
    await assert.rejects(snap.createRw("c1", lowers), AlreadyExistsError);
    const merged = await snap.mount("c1");
    assert.equal(await snap.mount("c1"), merged);
    assert.ok(await snap.isMounted("c1"));
    assert.deepEqual((await readdir(join(merged, "etc"))).sort(), ["keep"]);
    assert.deepEqual(await readdir(join(merged, "opt")), ["new"]);

    // Now change things in the container and take the diff.
    await rm(join(merged, "etc/keep"));
    await rm(join(merged, "opt"), { recursive: true });
    await mkdir(join(merged, "opt"));
    await writeFile(join(merged, "opt/fresh"), "fresh");
    await mkdir(join(merged, "home/user"), { recursive: true });
    await writeFile(join(merged, "home/user/a"), "A");
    const diff = await listTar(await snap.diff("c1"));
    assert.equal(diff.get("etc/.wh.keep")?.type, "file");
    assert.equal(diff.get("opt/.wh..wh..opq")?.type, "file");
    assert.equal(diff.get("opt/fresh")?.body, "fresh");
    assert.equal(diff.get("home/user/a")?.body, "A");
    assert.equal(diff.get("etc/")?.type, "directory");
    assert.ok(!diff.has("etc/keep"));

    // The diff, applied as a third layer, reproduces the container's view.
    const bytes: Buffer[] = [];
    for await (const c of await snap.diff("c1")) bytes.push(c as Buffer);
    const l3 = { diffId: sha(Buffer.concat(bytes)), open: async () => Readable.from([Buffer.concat(bytes)]) };
    const lowers3 = await snap.prepareImage([l1, l2, l3]);
    created.push("c2");
    await snap.createRw("c2", lowers3);
    const merged2 = await snap.mount("c2");
    assert.deepEqual(await readdir(join(merged2, "etc")), []);
    assert.deepEqual(await readdir(join(merged2, "opt")), ["fresh"]);
    assert.equal(await readFile(join(merged2, "home/user/a"), "utf8"), "A");

    const usage = await snap.usage("c1");
    assert.ok(usage.inodes >= 5);
    await snap.unmount("c1");
    await snap.unmount("c1");
    assert.equal(await snap.isMounted("c1"), false);
    // Unmounted, the diff is the same.
    assert.ok((await listTar(await snap.diff("c1"))).has("etc/.wh.keep"));
    await snap.remove("c1");
    await snap.remove("c1");
    assert.equal(await snap.exists("c1"), false);
    await assert.rejects(snap.mount("c1"), NotFoundError);
  });

  it("keeps hardlinks, symlinks and modes in the diff", async () => {
    created.push("c3");
    await snap.createRw("c3", []);
    const merged = await snap.mount("c3");
    await writeFile(join(merged, "f"), "data", { mode: 0o750 });
    const { link, symlink } = await import("node:fs/promises");
    await link(join(merged, "f"), join(merged, "g"));
    await symlink("f", join(merged, "s"));
    const diff = await listTar(await snap.diff("c3"));
    assert.equal(diff.get("f")?.body, "data");
    assert.equal(diff.get("g")?.type, "link");
    assert.equal(diff.get("g")?.linkname, "f");
    assert.equal(diff.get("s")?.type, "symlink");
    assert.equal(diff.get("s")?.linkname, "f");
    await snap.remove("c3");
  });

  it("mounts an image with many layers (lowerdir longer than a page)", async () => {
    const layers = [];
    for (let i = 0; i < 70; i++) layers.push(await layer([{ header: { name: `f${i}` }, body: String(i) }]));
    const lowers = await snap.prepareImage(layers);
    created.push("deep");
    await snap.createRw("deep", lowers);
    const merged = await snap.mount("deep");
    assert.equal((await readdir(merged)).length, 70);
    assert.equal(await readFile(join(merged, "f69"), "utf8"), "69");
    await snap.remove("deep");
  });

  it("mounts a throwaway layer volatile, and that layer mounts again after an unmount", async () => {
    const lowers = await snap.prepareImage([await layer([{ header: { name: "base" }, body: "b" }])]);
    created.push("vol");
    await snap.createRw("vol", lowers);
    const merged = await snap.mount("vol", { volatile: true });
    const optionsOf = async () => (await readFile("/proc/self/mounts", "utf8")).split("\n").find((l) => l.split(" ")[1] === merged)?.split(" ")[3] ?? "";
    // Newer kernels show it as fsync=volatile.
    assert.match(await optionsOf(), /(^|,)(fsync=)?volatile(,|$)/);
    await writeFile(join(merged, "scratch"), "x");
    await snap.unmount("vol");
    // overlayfs refuses a layer that was mounted volatile until its marker is gone: mount() clears it.
    await snap.mount("vol");
    assert.doesNotMatch(await optionsOf(), /volatile/);
    assert.equal(await readFile(join(merged, "scratch"), "utf8"), "x");
    await snap.remove("vol");
  });

  it("unpacks a shared layer once under concurrent prepares", async () => {
    const l = await layer([{ header: { name: "x" }, body: "x" }]);
    const [a, b] = await Promise.all([snap.prepareImage([l]), snap.prepareImage([l])]);
    assert.deepEqual(a, b);
    assert.equal(l.opened, 1);
    assert.deepEqual((await readdir(join(root, "layers"))).filter((n) => n.startsWith(".tmp-")), []);
  });

  it("refuses a malicious layer and leaves no half layer", async () => {
    const bad = await layer([{ header: { name: "../../escape" }, body: "x" }]);
    await assert.rejects(snap.prepareImage([bad]), InvalidArgumentError);
    const names = await readdir(join(root, "layers"));
    assert.ok(!names.includes(bad.diffId.slice(7)));
    assert.deepEqual(names.filter((n) => n.startsWith(".tmp-")), []);
  });

  it("prepareLayer keeps a layer unpacked from arriving bytes only once they are verified", async () => {
    const base = await layer([{ header: { name: "b" }, body: "b" }]);
    const good = await layer([{ header: { name: "g" }, body: "g" }]);
    let verify!: () => void;
    const verified = new Promise<void>((resolve) => (verify = resolve));
    const pending = snap.prepareLayer([base.diffId], { ...good, verified });
    const dir = join(root, "layers", chainIds([base.diffId, good.diffId])[1]!.slice(7));
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(stat(dir), /ENOENT/);
    verify();
    assert.equal(await pending, join(dir, "fs"));
    assert.equal(await readFile(join(dir, "fs", "g"), "utf8"), "g");
    assert.equal(base.opened, 0);

    const bad = await layer([{ header: { name: "unverified" }, body: "u" }]);
    const mismatch = Promise.reject(new InvalidArgumentError("digest mismatch"));
    // Awaited only once the tar is unpacked: mark it handled now, as pull does.
    mismatch.catch(() => undefined);
    await assert.rejects(snap.prepareLayer([], { ...bad, verified: mismatch }), /digest mismatch/);
    const names = await readdir(join(root, "layers"));
    assert.ok(!names.includes(bad.diffId.slice(7)));
    assert.deepEqual(names.filter((n) => n.startsWith(".tmp-")), []);
  });

  it("validates ids and prunes unused layers", async () => {
    await assert.rejects(snap.createRw("../x", []), InvalidArgumentError);
    await assert.rejects(snap.createRw("a/b", []), InvalidArgumentError);
    const keepLayer = await layer([{ header: { name: "k" }, body: "k" }]);
    const dropLayer = await layer([{ header: { name: "d" }, body: "d" }]);
    const [keepDir] = await snap.prepareImage([keepLayer]);
    const [dropDir] = await snap.prepareImage([dropLayer]);
    const usedLayer = await layer([{ header: { name: "u" }, body: "u" }]);
    const [usedDir] = await snap.prepareImage([usedLayer]);
    created.push("user");
    await snap.createRw("user", [usedDir!]);
    const removed = await snap.pruneLayers([keepLayer.diffId]);
    assert.ok(removed.includes(dropLayer.diffId));
    assert.ok(!removed.includes(keepLayer.diffId));
    assert.ok(!removed.includes(usedLayer.diffId));
    assert.ok((await stat(keepDir!)).isDirectory());
    assert.ok((await stat(usedDir!)).isDirectory());
    await assert.rejects(lstat(dropDir!));
    await snap.remove("user");
  });
  it("adopts an upper dir as the next layer: same tree as unpacking its diff, never unpacked again", async () => {
    const base = await layer([{ header: { name: "etc/", type: "directory" } }, { header: { name: "etc/old" }, body: "old" }, { header: { name: "keep" }, body: "k" }]);
    const [lower] = await snap.prepareImage([base]);
    await snap.createRw("adopt", [lower!]);
    created.push("adopt");
    const merged = await snap.mount("adopt");
    await writeFile(join(merged, "new"), "fresh");
    await rm(join(merged, "etc/old"));
    const tarBytes: Buffer[] = [];
    for await (const c of await snap.diff("adopt")) tarBytes.push(c as Buffer);
    const diffId = sha(Buffer.concat(tarBytes));
    await snap.adoptUpper("adopt", [base.diffId, diffId]);
    assert.equal(await snap.isMounted("adopt"), false);
    const top = { diffId, opened: 0, async open() { top.opened++; return Readable.from([Buffer.concat(tarBytes)]); } };
    const dirs = await snap.prepareImage([base, top]);
    assert.equal(top.opened, 0, "the adopted layer is not unpacked from the blob");
    assert.equal(await readFile(join(dirs[1]!, "new"), "utf8"), "fresh");
    await snap.createRw("adopt-child", dirs);
    created.push("adopt-child");
    const child = await snap.mount("adopt-child");
    assert.deepEqual((await readdir(child)).sort(), ["etc", "keep", "new"]);
    assert.deepEqual(await readdir(join(child, "etc")), [], "the whiteout hides the deleted file");
    // The source keeps a fresh, empty upper dir.
    assert.deepEqual(await readdir((await snap.paths("adopt")).upper), []);
  });
});
