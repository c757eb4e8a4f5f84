import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { TestDaemon } from "./support/daemon.js";

/**
 * A `kill -9` of the daemon in the middle of `load` or `commit` leaves the
 * stores readable: no half image, no tag to nothing, and the same operation
 * succeeds after a restart.
 */
let daemon: TestDaemon;
let dir: string;
const p = `wharftest-${randomBytes(3).toString("hex")}`;

before(async () => {
  daemon = await TestDaemon.start();
  dir = await mkdtemp("/tmp/wharf-test-crash-");
});
after(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A docker-archive whose one layer holds `mib` MiB of random bytes (slow enough to interrupt). */
async function bigArchive(path: string, tagName: string, mib: number): Promise<void> {
  const payload = randomBytes(mib << 20);
  const layer = tar.pack();
  layer.entry({ name: "big.bin", size: payload.length, mode: 0o644 }, payload);
  layer.finalize();
  const chunks: Buffer[] = [];
  for await (const c of layer) chunks.push(c as Buffer);
  const layerTar = Buffer.concat(chunks);
  const diffId = `sha256:${createHash("sha256").update(layerTar).digest("hex")}`;
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", config: { Cmd: ["sh"] }, rootfs: { type: "layers", diff_ids: [diffId] }, history: [{ created_by: "test" }] }));
  const configHex = createHash("sha256").update(config).digest("hex");
  const out = tar.pack();
  out.entry({ name: `${configHex}.json` }, config);
  out.entry({ name: "layer/layer.tar", size: layerTar.length }, layerTar);
  out.entry({ name: "manifest.json" }, JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tagName], Layers: ["layer/layer.tar"] }]));
  out.finalize();
  await pipeline(out, createWriteStream(path));
}

async function waitFor(cond: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function ingestBusy(): Promise<boolean> {
  return (await readdir(join(daemon.dataRoot, "content/ingest")).catch(() => [])).length > 0;
}

test("kill -9 during load: nothing half-loaded, load works after restart", async () => {
  const archive = join(dir, "big.tar");
  await bigArchive(archive, `${p}-big:1`, 256);
  const load = daemon.wharf(["load", "-i", archive]);
  await waitFor(ingestBusy, "the load to start ingesting");
  await daemon.crash();
  await load;
  await daemon.launch();
  const images = await daemon.wharf(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
  assert.equal(images.code, 0, images.stderr);
  assert.doesNotMatch(images.stdout, new RegExp(`${p}-big`));
  assert.match(images.stdout, /busybox:latest/);
  assert.deepEqual(await readdir(join(daemon.dataRoot, "content/ingest")), [], "temp files of the cut ingest are gone");
  const again = await daemon.wharf(["load", "-i", archive]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`Loaded image: ${p}-big:1`));
  await daemon.wharf(["rmi", `${p}-big:1`]);
});

test("kill -9 during commit: no half image, the container and its changes are intact", async () => {
  const name = `${p}-commit`;
  const r = await daemon.wharf(["run", "--name", name, "busybox", "sh", "-c", "head -c 268435456 /dev/urandom > /big.bin"]);
  assert.equal(r.code, 0, r.stderr);
  const commit = daemon.wharf(["commit", name, `${p}-committed`]);
  await waitFor(ingestBusy, "the commit to start ingesting");
  await daemon.crash();
  await commit;
  await daemon.launch();
  const images = await daemon.wharf(["images", "-a", "--format", "{{.Repository}}"]);
  assert.equal(images.code, 0, images.stderr);
  assert.doesNotMatch(images.stdout, new RegExp(`${p}-committed`));
  assert.equal((await daemon.wharf(["inspect", "-f", "{{.State.Status}}", name])).stdout.trim(), "exited");
  const again = await daemon.wharf(["commit", name, `${p}-committed`]);
  assert.equal(again.code, 0, again.stderr);
  const size = await daemon.wharf(["run", "--rm", `${p}-committed`, "wc", "-c", "/big.bin"]);
  assert.match(size.stdout, /268435456/);
  await daemon.wharf(["rm", name]);
  await daemon.wharf(["rmi", `${p}-committed`]);
});
