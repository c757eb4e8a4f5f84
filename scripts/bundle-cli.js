#!/usr/bin/env node
/**
 * Bundles the CLI (src/cli/main.ts and every client verb it imports lazily) into
 * one CommonJS file, dist/cli.cjs, that bin/wharf.js compiles with a V8 code cache
 * (dist/cli.cache). One CommonJS script skips Node's ESM loader (resolve and link
 * of each module) and the cache skips V8's compile: most of what a `wharf` call
 * spent before its first request.
 *
 * Always rebuilds (esbuild ~50 ms, then a warm-up call that writes the code cache,
 * ~0.2 s), so the bundle is never older than the sources: run it after tsc
 * (scripts/setup.sh and `npm run build` do).
 * npm packages stay external: they load from node_modules as before.
 */
import { createHash } from "node:crypto";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const bundlePath = join(dist, "cli.cjs");
const cachePath = join(dist, "cli.cache");

/**
 * CommonJS has no import.meta: each `import.meta.url` becomes the URL of the file tsc
 * emits for that module (dist/src/…/x.js), so paths computed from it (build-info's
 * package root, command-kit's createRequire) mean what they mean in the ESM build.
 */
const importMetaUrl = {
  name: "import-meta-url",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, "utf8");
      if (contents.includes("import.meta")) {
        const emitted = relative(root, args.path).replace(/\.ts$/, ".js").split("\\").join("/");
        contents = contents.replaceAll("import.meta.url", `__wharfModuleUrl(${JSON.stringify(emitted)})`);
        if (contents.includes("import.meta")) {
          return { errors: [{ text: `${emitted}: only import.meta.url is supported in the CLI bundle` }] };
        }
      }
      return { contents, loader: "ts" };
    });
  },
};

/**
 * The server verbs run from the ESM build (main.ts hands them over before it would load these),
 * so their modules, and the daemon and registry code behind them, stay out of the bundle.
 */
const serverVerbsOut = {
  name: "server-verbs-out",
  setup(b) {
    b.onResolve({ filter: /^\.\/commands\/(daemon|registry)\.js$/ }, (args) => ({ path: args.path, namespace: "server-verb" }));
    b.onLoad({ filter: /.*/, namespace: "server-verb" }, (args) => ({
      contents: `throw new Error("${args.path} runs from the ESM build, not the CLI bundle");`,
      loader: "js",
    }));
  },
};

const result = await build({
  entryPoints: [join(root, "src/cli/main.ts")],
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  packages: "external",
  // import() of a package becomes require(): a vm.Script (bin/wharf.js) has no ESM loader callback.
  supported: { "dynamic-import": false },
  // Error classes set `this.name = new.target.name`; renaming on a clash must not show in messages.
  keepNames: true,
  // Names stay (stack traces read); whitespace and comments go. Debug with WHARF_CLI_BUNDLE=0
  // (the ESM build) or `node --enable-source-maps` (dist/cli.cjs.map).
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: "linked",
  sourcesContent: false,
  outfile: bundlePath,
  write: false,
  logLevel: "warning",
  plugins: [importMetaUrl, serverVerbsOut],
  // __dirname is dist/ (the bundle's folder).
  banner: { js: 'var __wharfModuleUrl = (p) => require("node:url").pathToFileURL(require("node:path").join(__dirname, p)).href;' },
});
const output = (ext) => result.outputFiles.find((f) => f.path.endsWith(ext)).text;
const body = output(".cjs");
if (/\bimport\(/.test(body)) throw new Error("bundle-cli: an import() survived bundling; bin/wharf.js cannot run it");

// The first line names the content, which bin/wharf.js keys the code cache by (with size and
// mtime), and says whether it may be read as latin1: a one-byte string V8 reads faster than UTF-8.
// A source line prepended: the map's line numbers move down by one, as its ";" prefix says.
const hash = createHash("sha256").update(body).digest("hex").slice(0, 32);
const charset = /^[\x00-\x7f]*$/.test(body) ? "ascii" : "utf8";
await atomicWrite(`${bundlePath}.map`, output(".map").replace('"mappings": "', '"mappings": ";'));
await atomicWrite(bundlePath, `// wharf-cli-bundle ${hash} ${charset}\n${body}`);
await rm(cachePath, { force: true });

async function atomicWrite(path, text) {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

// A warm-up call writes the cache (see bin/wharf.js). It fails at connect on purpose: by then
// it has compiled global flags, `run`'s option parsing and the client, the path most calls take.
spawnSync(process.execPath, [join(root, "bin/wharf.js"), "run", "--rm", "busybox", "true"], {
  env: { ...process.env, WHARF_HOST: `unix://${join(dist, ".warm-up-no-daemon.sock")}` },
  stdio: "ignore",
});
