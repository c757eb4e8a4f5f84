import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { execFileSync } from "node:child_process";
import { InvalidArgumentError } from "../lib/errors.js";
import { cleanEntryPath, unpackLayer } from "./unpack-layer.js";
import { makeTar, type TestEntry } from "./test-tar.js";

let base: string;
before(async () => {
  base = await mkdtemp(join(tmpdir(), "wharf-test-unpack-"));
});
after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A fresh layer dir three levels below `base`, so `../..` lands inside base where we can look. */
async function freshDest(): Promise<string> {
  const dest = join(base, randomBytes(4).toString("hex"), "a", "b", "fs");
  await mkdir(dest, { recursive: true });
  return dest;
}

async function unpack(entries: TestEntry[], dest?: string): Promise<string> {
  const d = dest ?? (await freshDest());
  await unpackLayer(Readable.from([await makeTar(entries)]), d);
  return d;
}

async function existsPath(p: string): Promise<boolean> {
  return lstat(p).then(() => true, () => false);
}

function getfattr(path: string, name: string): string | null {
  try {
    return execFileSync("getfattr", ["--only-values", "-h", "-n", name, path], { stdio: ["ignore", "pipe", "ignore"] }).toString();
  } catch {
    return null;
  }
}

describe("cleanEntryPath", () => {
  it("cleans names and refuses to climb out", () => {
    assert.deepEqual(cleanEntryPath("./a//b/./c/"), ["a", "b", "c"]);
    assert.deepEqual(cleanEntryPath("/abs/x"), ["abs", "x"]);
    assert.deepEqual(cleanEntryPath("a/../b"), ["b"]);
    assert.deepEqual(cleanEntryPath("./"), []);
    assert.throws(() => cleanEntryPath("../x"), InvalidArgumentError);
    assert.throws(() => cleanEntryPath("a/../../x"), InvalidArgumentError);
  });
});

describe("unpackLayer: safety", () => {
  it("refuses ../../etc/x and writes nothing outside the layer", async () => {
    const dest = await freshDest();
    await assert.rejects(unpack([{ header: { name: "../../etc/x" }, body: "pwned" }], dest), InvalidArgumentError);
    assert.equal(await existsPath(join(dest, "..", "..", "etc", "x")), false);
    assert.equal(await existsPath(join(dest, "..", "..", "etc")), false);
  });

  it("takes absolute names relative to the layer root", async () => {
    const marker = `/tmp/wharf-test-abs-${randomBytes(4).toString("hex")}`;
    const dest = await unpack([{ header: { name: marker }, body: "inside" }]);
    assert.equal(await readFile(join(dest, marker), "utf8"), "inside");
    assert.equal(await existsPath(marker), false);
  });

  it("follows a symlinked parent inside the root only (link -> /, then link/etc/x)", async () => {
    const name = `wharf-test-escape-${randomBytes(4).toString("hex")}`;
    const dest = await unpack([
      { header: { name: "link", type: "symlink", linkname: "/" } },
      { header: { name: `link/etc/${name}` }, body: "contained" },
      { header: { name: "up", type: "symlink", linkname: "../../../../../../.." } },
      { header: { name: `up/tmp/${name}` }, body: "contained too" },
      { header: { name: "abs", type: "symlink", linkname: `${base}` } },
      { header: { name: `abs/${name}` }, body: "and this" },
    ]);
    assert.equal(await existsPath(join("/etc", name)), false);
    assert.equal(await existsPath(join("/tmp", name)), false);
    assert.equal(await existsPath(join(base, name)), false);
    assert.equal(await readFile(join(dest, "etc", name), "utf8"), "contained");
    assert.equal(await readFile(join(dest, "tmp", name), "utf8"), "contained too");
    assert.equal(await readFile(join(dest, base, name), "utf8"), "and this");
    // The symlinks themselves are kept as written.
    assert.equal(await readlink(join(dest, "link")), "/");
  });

  it("refuses a hardlink to a file outside the layer (/etc/passwd)", async () => {
    const before = await stat("/etc/passwd");
    await assert.rejects(unpack([{ header: { name: "passwd", type: "link", linkname: "/etc/passwd" } }]), InvalidArgumentError);
    await assert.rejects(
      unpack([
        { header: { name: "etc", type: "symlink", linkname: "/etc" } },
        { header: { name: "x", type: "link", linkname: "etc/passwd" } },
      ]),
      InvalidArgumentError,
    );
    await assert.rejects(unpack([{ header: { name: "x", type: "link", linkname: "../../../../../etc/passwd" } }]), InvalidArgumentError);
    assert.equal((await stat("/etc/passwd")).nlink, before.nlink);
  });

  it("hardlinks resolve through in-layer symlinks and stay inside", async () => {
    const dest = await unpack([
      { header: { name: "etc/", type: "directory" } },
      { header: { name: "etc/passwd" }, body: "root:x:0:0::/root:/bin/sh\n" },
      { header: { name: "e", type: "symlink", linkname: "/etc" } },
      { header: { name: "pw", type: "link", linkname: "e/passwd" } },
    ]);
    const a = await stat(join(dest, "etc/passwd"));
    const b = await stat(join(dest, "pw"));
    assert.equal(a.ino, b.ino);
  });

  it("replaces a symlink at the entry's own name instead of writing through it", async () => {
    const outside = join(base, `target-${randomBytes(4).toString("hex")}`);
    const outsideDir = join(base, `dir-${randomBytes(4).toString("hex")}`);
    await mkdir(outsideDir, { mode: 0o755 });
    const dest = await unpack([
      { header: { name: "evil", type: "symlink", linkname: outside } },
      { header: { name: "evil" }, body: "data" },
      { header: { name: "evildir", type: "symlink", linkname: outsideDir } },
      { header: { name: "evildir/", type: "directory", mode: 0o700 } },
    ]);
    assert.equal(await existsPath(outside), false);
    assert.equal(await readFile(join(dest, "evil"), "utf8"), "data");
    assert.ok((await lstat(join(dest, "evildir"))).isDirectory());
    assert.equal((await stat(outsideDir)).mode & 0o777, 0o755);
  });

  it("deferred work (device metadata, dir mtimes, whiteouts) never lands outside after a parent is swapped for a symlink", async () => {
    const victimDir = join(base, `victim-${randomBytes(4).toString("hex")}`);
    await mkdir(victimDir);
    const victimFile = join(victimDir, "file");
    await writeFile(victimFile, "host", { mode: 0o644 });
    const old = new Date(1_500_000_000_000);
    await utimes(victimDir, old, old);
    const dest = await unpack([
      { header: { name: "d/", type: "directory", mtime: new Date(0) } },
      { header: { name: "d/sub/", type: "directory", mtime: new Date(0) } },
      { header: { name: "d/.wh.gone" } , body: "" },
      { header: { name: "d/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 } },
      // Now d becomes a symlink to the host dir; the queued work must not follow it.
      { header: { name: "d", type: "symlink", linkname: victimDir } },
      { header: { name: "dev", type: "symlink", linkname: victimFile } },
      { header: { name: "dev", type: "character-device", devmajor: 1, devminor: 3, mode: 0o777 } },
    ]);
    assert.deepEqual((await readdir(victimDir)).sort(), ["file"]);
    assert.equal((await stat(victimFile)).mode & 0o777, 0o644);
    assert.equal((await stat(victimDir)).mtime.getTime(), old.getTime());
    assert.ok((await lstat(join(dest, "d"))).isSymbolicLink());
  });

  it("fails cleanly on a parent that is a regular file", async () => {
    await assert.rejects(
      unpack([
        { header: { name: "f" }, body: "x" },
        { header: { name: "f/y" }, body: "y" },
      ]),
      InvalidArgumentError,
    );
  });
});

describe("unpackLayer: content", () => {
  it("keeps modes, owners, mtimes, symlinks, hardlinks and devices", async () => {
    const mtime = new Date(1_600_000_000_000);
    const dest = await unpack([
      { header: { name: "bin/", type: "directory", mode: 0o755, mtime } },
      { header: { name: "bin/tool", mode: 0o4755, uid: 1000, gid: 1001, mtime }, body: "#!/bin/sh\n" },
      { header: { name: "bin/alias", type: "link", linkname: "bin/tool" } },
      { header: { name: "bin/sl", type: "symlink", linkname: "tool", uid: 7, gid: 8, mtime } },
      { header: { name: "tmp/", type: "directory", mode: 0o1777, mtime } },
      { header: { name: "dev/", type: "directory", mode: 0o755 } },
      { header: { name: "dev/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0 } },
      { header: { name: "dev/fifo", type: "fifo", mode: 0o600, uid: 5, gid: 5 } },
      { header: { name: "empty-dir-with-odd-mode/", type: "directory", mode: 0o550, uid: 33, gid: 33, mtime } },
    ]);
    const tool = await stat(join(dest, "bin/tool"));
    assert.equal(tool.mode & 0o7777, 0o4755);
    assert.equal(tool.uid, 1000);
    assert.equal(tool.gid, 1001);
    assert.equal(tool.mtime.getTime(), mtime.getTime());
    assert.equal(tool.nlink, 2);
    assert.equal((await stat(join(dest, "bin/alias"))).ino, tool.ino);
    const sl = await lstat(join(dest, "bin/sl"));
    assert.ok(sl.isSymbolicLink());
    assert.equal(sl.uid, 7);
    assert.equal(await readlink(join(dest, "bin/sl")), "tool");
    assert.equal((await stat(join(dest, "bin"))).mtime.getTime(), mtime.getTime());
    assert.equal((await stat(join(dest, "tmp"))).mode & 0o7777, 0o1777);
    const nul = await lstat(join(dest, "dev/null"));
    assert.ok(nul.isCharacterDevice());
    assert.equal(nul.rdev, (1 << 8) | 3);
    assert.equal(nul.mode & 0o777, 0o666);
    const fifo = await lstat(join(dest, "dev/fifo"));
    assert.ok(fifo.isFIFO());
    assert.equal(fifo.uid, 5);
    const odd = await stat(join(dest, "empty-dir-with-odd-mode"));
    assert.equal(odd.mode & 0o7777, 0o550);
    assert.equal(odd.uid, 33);
  });

  it("turns .wh. entries into overlay whiteouts and opaque markers", async () => {
    const dest = await unpack([
      { header: { name: "etc/", type: "directory" } },
      { header: { name: "etc/.wh.motd" }, body: "" },
      { header: { name: ".wh.gone-dir" }, body: "" },
      { header: { name: "var/", type: "directory" } },
      { header: { name: "var/.wh..wh..opq" }, body: "" },
      { header: { name: "var/keep" }, body: "new" },
      { header: { name: ".wh..wh.plnk/", type: "directory" } },
    ]);
    for (const p of ["etc/motd", "gone-dir"]) {
      const st = await lstat(join(dest, p));
      assert.ok(st.isCharacterDevice(), p);
      assert.equal(st.rdev, 0, p);
    }
    assert.equal(getfattr(join(dest, "var"), "trusted.overlay.opaque"), "y");
    assert.equal(getfattr(join(dest, "etc"), "trusted.overlay.opaque"), null);
    assert.equal(await readFile(join(dest, "var/keep"), "utf8"), "new");
    assert.equal(await existsPath(join(dest, ".wh..wh.plnk")), false);
    assert.equal(await existsPath(join(dest, "etc/.wh.motd")), false);
  });

  it("unpacks gzip'd layers and replaces earlier entries of the same name", async () => {
    const tarBytes = await makeTar([
      { header: { name: "a" }, body: "first" },
      { header: { name: "a" }, body: "second" },
      { header: { name: "d/", type: "directory" } },
      { header: { name: "d/x" }, body: "x" },
      { header: { name: "d" }, body: "now a file" },
    ]);
    const dest = await freshDest();
    await unpackLayer(Readable.from([gzipSync(tarBytes)]), dest);
    assert.equal(await readFile(join(dest, "a"), "utf8"), "second");
    assert.equal(await readFile(join(dest, "d"), "utf8"), "now a file");
  });

  it("unpacks a big layer at a reasonable speed", async (t) => {
    const entries: TestEntry[] = [{ header: { name: "many/", type: "directory" } }];
    for (let i = 0; i < 3000; i++) entries.push({ header: { name: `many/f${i}` }, body: randomBytes(2048) });
    const big = randomBytes(64 << 20);
    entries.push({ header: { name: "big.bin" }, body: big });
    const tarBytes = await makeTar(entries);
    const dest = await freshDest();
    const start = process.hrtime.bigint();
    // Feed it in 64 KiB chunks, as a file stream would.
    const chunks: Buffer[] = [];
    for (let o = 0; o < tarBytes.length; o += 65536) chunks.push(tarBytes.subarray(o, o + 65536));
    const stats = await unpackLayer(Readable.from(chunks), dest);
    const secs = Number(process.hrtime.bigint() - start) / 1e9;
    t.diagnostic(`unpacked ${stats.entries} entries, ${(stats.bytes / 1048576).toFixed(0)} MiB in ${secs.toFixed(2)} s (${(stats.bytes / 1048576 / secs).toFixed(0)} MiB/s)`);
    assert.equal(stats.entries, 3002);
    assert.equal((await stat(join(dest, "big.bin"))).size, big.length);
    assert.equal((await readdir(join(dest, "many"))).length, 3000);
  });
});
