#!/usr/bin/env node
// CommonJS (bin/package.json), so starting `wharf` does not start Node's ESM loader.
//
// The CLI runs from dist/cli.cjs, one bundle of src/cli's client verbs (scripts/bundle-cli.js), compiled
// with the V8 code cache in dist/cli.cache. The cache is keyed by the bundle's content hash
// (its first line), size and mtime; one that is missing, stale or rejected by V8 is rewritten
// (atomically) when this call exits — never an error. Without a bundle, or with one older than
// tsc's last build, or with WHARF_CLI_BUNDLE=0, the ESM build dist/src/cli/main.js runs instead.
// WHARF_DEBUG_STARTUP=1 says on stderr which way this call started.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { createRequire } = require("node:module");

const dist = path.join(__dirname, "..", "dist");
const bundlePath = path.join(dist, "cli.cjs");
const cachePath = path.join(dist, "cli.cache");

function loadBundle() {
  // `node --enable-source-maps`: Node's own loader reads the bundle's source map (dist/cli.cjs.map),
  // which it does not for a vm.Script; slower to start, but stack traces name the TypeScript lines.
  if (process.sourceMapsEnabled) {
    if (!bundleIsCurrent(fs.statSync(bundlePath, { throwIfNoEntry: false }))) return false;
    if (process.env.WHARF_DEBUG_STARTUP) process.stderr.write("wharf: startup: bundle, source maps\n");
    require(bundlePath).runProgram(esmMain);
    return true;
  }
  let source, stat;
  try {
    const fd = fs.openSync(bundlePath, "r");
    try {
      stat = fs.fstatSync(fd);
      if (!bundleIsCurrent(stat)) return false;
      source = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
  const id = /^\/\/ wharf-cli-bundle ([0-9a-f]+) (ascii|utf8)\n/.exec(source.toString("latin1", 0, 100));
  if (!id) return false;
  source = source.toString(id[2] === "ascii" ? "latin1" : "utf8");
  const key = `wharf-cli-cache 1 ${process.version} ${process.arch} ${id[1]} ${stat.size} ${stat.mtimeMs}\n`;
  let cachedData;
  try {
    const buf = fs.readFileSync(cachePath);
    if (buf.length > key.length && buf.toString("latin1", 0, key.length) === key) cachedData = buf.subarray(key.length);
  } catch {
    // No cache yet: this call writes it.
  }
  let script;
  try {
    script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
      filename: bundlePath,
      cachedData,
    });
  } catch {
    return false; // a broken bundle: the ESM build still works
  }
  if (process.env.WHARF_DEBUG_STARTUP) {
    const cache = cachedData === undefined ? "none" : script.cachedDataRejected ? "rejected" : "accepted";
    process.stderr.write(`wharf: startup: bundle, code cache ${cache}\n`);
  }
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once("exit", () => {
      const tmp = `${cachePath}.${process.pid}.tmp`;
      try {
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(key, "latin1"), script.createCachedData()]));
        fs.renameSync(tmp, cachePath);
      } catch {
        try {
          fs.unlinkSync(tmp);
        } catch {
          // a read-only install: run without a cache
        }
      }
    });
  }
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(bundlePath), module, bundlePath, dist);
  // Server verbs (daemon, registry) are not in the bundle: they run from the ESM build.
  module.exports.runProgram(esmMain);
  return true;
}

/**
 * tsc rewrites dist/.tsbuildinfo whenever it emits: a bundle older than that was made from older
 * sources than dist/ (someone ran only tsc), and the ESM build is the current one.
 */
function bundleIsCurrent(bundleStat) {
  if (!bundleStat) return false;
  const built = fs.statSync(path.join(dist, ".tsbuildinfo"), { throwIfNoEntry: false });
  return !built || bundleStat.mtimeMs >= built.mtimeMs;
}

function esmMain() {
  return import("../dist/src/cli/main.js");
}

if (process.env.WHARF_CLI_BUNDLE === "0" || !loadBundle()) {
  if (process.env.WHARF_DEBUG_STARTUP) process.stderr.write("wharf: startup: ESM build\n");
  esmMain().then((m) => m.runProgram());
}
