import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { InvalidArgumentError, NotFoundError } from "../lib/errors.js";
import { ContextArchive } from "./context-archive.js";
import { DockerIgnore } from "./dockerignore.js";
import { checksumSources, resolveSources } from "./source-paths.js";

type Item = { name: string; body?: string; type?: "directory" | "symlink" | "link"; linkname?: string; mode?: number; mtime?: Date };

async function tarOf(items: Item[]): Promise<Readable> {
  const pack = tar.pack();
  for (const i of items) {
    await new Promise<void>((res, rej) => {
      const header = { name: i.name, type: i.type ?? "file", linkname: i.linkname, mode: i.mode ?? 0o644, mtime: i.mtime ?? new Date(1000) } as const;
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (i.body !== undefined) pack.entry(header, i.body, cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  return pack as unknown as Readable;
}

async function withContext(items: Item[], fn: (ctx: ContextArchive, scratch: string) => Promise<void>): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "wharf-ctx-"));
  try {
    const ctx = await ContextArchive.receive(await tarOf(items), scratch);
    try {
      await fn(ctx, scratch);
    } finally {
      await ctx.close();
    }
    assert.deepEqual(await readdir(scratch), [], "close removes the data file");
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

test("an index over the tar: implicit parents, contents, hard links, globs", async () => {
  await withContext(
    [
      { name: "Dockerfile", body: "FROM busybox\n" },
      { name: "src/a/one.txt", body: "one" },
      { name: "src/a/two.txt", body: "two" },
      { name: "src/b.md", body: "bee" },
      { name: "hard", type: "link", linkname: "src/b.md" },
    ],
    async (ctx, scratch) => {
      assert.equal(await ctx.readText("Dockerfile"), "FROM busybox\n");
      assert.equal((await ctx.stat("src/a"))?.type, "dir");
      assert.deepEqual(await ctx.children("src"), ["a", "b.md"]);
      const globbed = await resolveSources(ctx, ["src/*/*.txt", "src/?.md"]);
      assert.deepEqual(globbed.map((s) => s.rel), ["src/a/one.txt", "src/a/two.txt", "src/b.md"]);
      await ctx.copyFileTo("hard", join(scratch, "out"));
      assert.equal(await readFile(join(scratch, "out"), "utf8"), "bee");
      await rm(join(scratch, "out"));
    },
  );
});

test("symlinks resolve inside the context; ../ and missing sources are refused", async () => {
  await withContext(
    [
      { name: "dir/file", body: "x" },
      { name: "up", type: "symlink", linkname: "../../../etc" },
      { name: "abs", type: "symlink", linkname: "/dir" },
    ],
    async (ctx) => {
      assert.equal(await ctx.resolve("up"), "etc", "clamped at the root, like a chroot");
      assert.equal(await ctx.resolve("abs/file"), "dir/file");
      await assert.rejects(resolveSources(ctx, ["../x"]), InvalidArgumentError);
      await assert.rejects(resolveSources(ctx, ["nothere"]), NotFoundError);
    },
  );
  const scratch = await mkdtemp(join(tmpdir(), "wharf-ctx-"));
  try {
    await assert.rejects(ContextArchive.receive(await tarOf([{ name: "../escape", body: "x" }]), scratch), InvalidArgumentError);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
});

test("checksums follow contents and modes, not times; .dockerignore drops entries", async () => {
  const sum = async (items: Item[]) => {
    let out = "";
    await withContext(items, async (ctx) => {
      out = await checksumSources(ctx, await resolveSources(ctx, ["."]));
    });
    return out;
  };
  const base = await sum([{ name: "a", body: "1" }]);
  assert.equal(await sum([{ name: "a", body: "1", mtime: new Date(5000) }]), base);
  assert.notEqual(await sum([{ name: "a", body: "2" }]), base);
  assert.notEqual(await sum([{ name: "a", body: "1", mode: 0o755 }]), base);

  await withContext(
    [{ name: "keep", body: "k" }, { name: "logs/x.log", body: "x" }, { name: "logs/keep.log", body: "y" }, { name: "Dockerfile", body: "" }],
    async (ctx) => {
      ctx.applyIgnore(DockerIgnore.parse("logs\n!logs/keep.log\nDockerfile\n"), ["Dockerfile"]);
      assert.deepEqual(await ctx.children(""), ["Dockerfile", "keep", "logs"]);
      assert.deepEqual(await ctx.children("logs"), ["keep.log"]);
    },
  );
});
