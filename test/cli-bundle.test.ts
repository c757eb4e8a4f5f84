/**
 * bin/wharf.js's two ways to start: the CLI bundle (dist/cli.cjs) with its V8 code cache
 * (dist/cli.cache), and the ESM build (no bundle, a bundle older than tsc's last emit,
 * WHARF_CLI_BUNDLE=0). Each case runs a copy of bin/ and the bundle in a temporary package
 * (dist/src and node_modules linked), so it can break the cache and the bundle freely.
 * Needs `scripts/bundle-cli.js` to have run (scripts/setup.sh does).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repoRoot = resolve(import.meta.dirname, "../..");
let pkg: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** What WHARF_DEBUG_STARTUP said: "bundle, code cache accepted", "ESM build", … */
  startup: string;
}

function wharf(args: string[], env: Record<string, string> = {}, nodeFlags: string[] = []): Promise<Run> {
  return new Promise((done) => {
    const child = execFile(
      process.execPath,
      [...nodeFlags, join(pkg, "bin/wharf.js"), ...args],
      { env: { ...process.env, WHARF_DEBUG_STARTUP: "1", WHARF_HOST: `unix://${join(pkg, "no-daemon.sock")}`, ...env } },
      (_err, stdout, stderr) => {
        const m = /^wharf: startup: (.*)\n/m.exec(stderr);
        done({ code: child.exitCode ?? -1, stdout, stderr: stderr.replace(/^wharf: startup: .*\n/m, ""), startup: m?.[1] ?? "" });
      },
    );
  });
}

const bundle = () => join(pkg, "dist/cli.cjs");
const cache = () => join(pkg, "dist/cli.cache");

before(async () => {
  pkg = await mkdtemp(join(tmpdir(), "wharf-cli-bundle-"));
  await mkdir(join(pkg, "dist"));
  await cp(join(repoRoot, "bin"), join(pkg, "bin"), { recursive: true });
  await cp(join(repoRoot, "package.json"), join(pkg, "package.json"));
  await cp(join(repoRoot, "dist/cli.cjs"), bundle());
  await symlink(join(repoRoot, "dist/src"), join(pkg, "dist/src"));
  await symlink(join(repoRoot, "node_modules"), join(pkg, "node_modules"));
});

after(async () => {
  if (pkg) await rm(pkg, { recursive: true, force: true });
});

test("the bundle writes its code cache on the first call and starts from it after", async () => {
  await rm(cache(), { force: true });
  const first = await wharf(["--version"]);
  assert.equal(first.startup, "bundle, code cache none");
  assert.equal(first.code, 0);
  assert.match(first.stdout, /^Wharf version \S+, build \S+\n$/);
  assert.match(await readFile(cache(), "latin1"), /^wharf-cli-cache 1 /);
  const second = await wharf(["--version"]);
  assert.equal(second.startup, "bundle, code cache accepted");
  assert.equal(second.stdout, first.stdout);
});

test("every verb answers the same from the bundle and from the ESM build", async () => {
  const help = await wharf(["--help"]);
  const verbs = [...help.stdout.matchAll(/^ {2}([a-z]+) {2,}/gm)].map((m) => m[1]!);
  assert.ok(verbs.includes("run") && verbs.includes("daemon") && verbs.includes("registry"), help.stdout);
  const cases = [
    ...verbs.map((v) => [v, "--help"]),
    ["container", "ls", "--help"],
    ["image", "prune", "--help"],
    ["system", "df", "--help"],
    ["help", "registry"],
    ["ps"],
    ["run", "--rm", "busybox", "true"],
    ["run", "--bogus-flag", "busybox"],
    ["ps", "--format", "{{.ID}}", "-a"],
    ["inspect", "--format", "{{json .}}", "x"],
    ["nosuchverb"],
    ["--bogus"],
    ["daemon", "--log-level", "nonsense"],
    ["registry", "--addr", "nonsense"],
  ];
  for (const args of cases) {
    const [fromBundle, fromEsm] = await Promise.all([wharf(args), wharf(args, { WHARF_CLI_BUNDLE: "0" })]);
    assert.match(fromBundle.startup, /^bundle/, args.join(" "));
    assert.equal(fromEsm.startup, "ESM build");
    assert.deepEqual(
      { code: fromBundle.code, stdout: fromBundle.stdout, stderr: fromBundle.stderr },
      { code: fromEsm.code, stdout: fromEsm.stdout, stderr: fromEsm.stderr },
      `wharf ${args.join(" ")}`,
    );
  }
});

test("a corrupt or stale code cache is ignored and rewritten, never an error", async () => {
  await wharf(["--version"]); // a good cache to break
  const good = await readFile(cache());
  const header = good.subarray(0, good.indexOf(10) + 1);
  const corruptions: [string, () => Promise<void>][] = [
    ["garbage", () => writeFile(cache(), Buffer.from("not a code cache at all"))],
    ["empty", () => writeFile(cache(), Buffer.alloc(0))],
    ["right key, garbage data", () => writeFile(cache(), Buffer.concat([header, Buffer.alloc(4096, 0xa5)]))],
    ["truncated", () => writeFile(cache(), good.subarray(0, header.length + 200))],
    [
      "another bundle's cache",
      async () => {
        await writeFile(cache(), good);
        const t = new Date(Date.now() + 5000);
        await utimes(bundle(), t, t); // same bytes, another mtime: the key no longer matches
      },
    ],
  ];
  for (const [what, corrupt] of corruptions) {
    await corrupt();
    const r = await wharf(["run", "--rm", "busybox", "true"]);
    assert.match(r.startup, /^bundle, code cache (none|rejected)$/, what);
    assert.equal(r.code, 125, `${what}: ${r.stderr}`);
    assert.match(r.stderr, /^wharf: Cannot connect to the Wharf daemon/, what);
    const again = await wharf(["--version"]);
    assert.equal(again.startup, "bundle, code cache accepted", `${what}: the cache is rewritten`);
    assert.equal(again.code, 0);
  }
});

test("without the bundle, or with one older than tsc's last build, the ESM build runs", async () => {
  const built = join(pkg, "dist/.tsbuildinfo");
  const later = new Date((await stat(bundle())).mtimeMs + 10_000);
  await writeFile(built, "{}");
  await utimes(built, later, later);
  const stale = await wharf(["--version"]);
  assert.equal(stale.startup, "ESM build");
  assert.equal(stale.code, 0);
  await rm(built);

  await rm(cache(), { force: true });
  const saved = await readFile(bundle());
  await rm(bundle());
  try {
    const missing = await wharf(["ps"]);
    assert.equal(missing.startup, "ESM build");
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Cannot connect to the Wharf daemon/);
    const broken = "// wharf-cli-bundle 0123abcd ascii\nthis is not JavaScript(\n";
    await writeFile(bundle(), broken);
    const r = await wharf(["--version"]);
    assert.equal(r.startup, "ESM build", "a bundle that does not compile");
    assert.equal(r.code, 0);
  } finally {
    await writeFile(bundle(), saved);
  }
});

test("node --enable-source-maps loads the bundle through require, for stack traces in TypeScript", async () => {
  const r = await wharf(["-D", "ps"], {}, ["--enable-source-maps"]);
  assert.equal(r.startup, "bundle, source maps");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Cannot connect/);
});
