/**
 * The registry benchmark's test image, written as a `docker save`-style
 * archive (manifest.json, `<hex>.json` config with `rootfs.diff_ids`,
 * `<hex>/layer.tar` per layer) so `docker load` and `wharf load` read the
 * same bytes: one big layer of random bytes (incompressible, so gzip cannot
 * shrink the work) and small layers of a few KiB to 1 MiB, each a tar of one
 * random file.
 */
import { execFile } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileP = promisify(execFile);

export interface BenchImage {
  /** The archive to `load`. */
  tar: string;
  /** Image ID: the config's digest. */
  id: string;
  /** The tag the archive carries. */
  tag: string;
  /** Layer tars + config: the bytes a push or pull moves (before any compression). */
  bytes: number;
  layerSizes: number[];
}

/** One ustar header block (https://www.gnu.org/software/tar/manual/html_node/Standard.html). */
function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  const field = (off: number, len: number, value: string) => h.write(value, off, len, "ascii");
  const octal = (off: number, len: number, n: number) => field(off, len, n.toString(8).padStart(len - 1, "0") + "\0");
  field(0, 100, name);
  octal(100, 8, 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  field(148, 8, "        ");
  field(156, 1, "0");
  field(257, 8, "ustar\u000000");
  let sum = 0;
  for (const b of h) sum += b;
  field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

/** Writes a tar of one file of `size` random bytes; returns its sha256 and length. */
async function writeRandomLayer(path: string, fileName: string, size: number): Promise<{ digest: string; length: number }> {
  const hash = createHash("sha256");
  const fh = await open(path, "w");
  try {
    const put = async (b: Buffer) => {
      hash.update(b);
      await fh.write(b);
    };
    await put(tarHeader(fileName, size));
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let left = size; left > 0; ) {
      const n = Math.min(left, buf.length);
      randomFillSync(buf, 0, n);
      await put(buf.subarray(0, n));
      left -= n;
    }
    // Pad the file to a block, then the two zero blocks that end an archive.
    await put(Buffer.alloc(((512 - (size % 512)) % 512) + 1024));
    return { digest: `sha256:${hash.digest("hex")}`, length: 512 + size + ((512 - (size % 512)) % 512) + 1024 };
  } finally {
    await fh.close();
  }
}

const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" };

/**
 * Builds the archive under `dir` (removing the loose files once the tar is
 * made). The big layer comes first, as a base layer would; small layer i
 * has 4 KiB · 256^(i/(n-1)) bytes, so sizes spread evenly (in log scale) up to 1 MiB.
 */
export async function buildBenchImage(dir: string, bigBytes: number, smallLayers: number, tag: string): Promise<BenchImage> {
  const loose = join(dir, "image");
  await mkdir(loose, { recursive: true });
  const sizes = [bigBytes, ...Array.from({ length: smallLayers }, (_, i) => Math.round(4096 * 256 ** (smallLayers > 1 ? i / (smallLayers - 1) : 0)))];
  const layers: Array<{ digest: string; length: number; path: string }> = [];
  for (const [i, size] of sizes.entries()) {
    const tmp = join(loose, `layer-${i}.tar`);
    const l = await writeRandomLayer(tmp, `layer-${i}.bin`, size);
    const hex = l.digest.slice("sha256:".length);
    await mkdir(join(loose, hex));
    await rename(tmp, join(loose, hex, "layer.tar"));
    layers.push({ ...l, path: `${hex}/layer.tar` });
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: goArch[process.arch] ?? process.arch,
      os: "linux",
      created: "2026-01-01T00:00:00Z",
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["/layer-0.bin"] },
      rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    }),
  );
  const configHex = createHash("sha256").update(config).digest("hex");
  await writeFile(join(loose, `${configHex}.json`), config);
  await writeFile(join(loose, "manifest.json"), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: layers.map((l) => l.path) }]));
  const tar = join(dir, "image.tar");
  await execFileP("tar", ["-cf", tar, "-C", loose, "manifest.json", `${configHex}.json`, ...layers.map((l) => l.path)]);
  await rm(loose, { recursive: true, force: true });
  return {
    tar,
    id: `sha256:${configHex}`,
    tag,
    bytes: layers.reduce((n, l) => n + l.length, 0) + config.length,
    layerSizes: layers.map((l) => l.length),
  };
}
