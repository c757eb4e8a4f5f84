/** The client's version and build (git commit of the checkout it runs from, else "dev"). */
import { readFileSync } from "node:fs";

/** The package root (bin/, dist/ and package.json live there). */
function packageRoot(): URL {
  // dist/src/cli/main.js → ../../../
  return new URL("../../../", import.meta.url);
}

/** "Wharf version 0.1.0, build abc1234" (build is the git commit when run from a checkout, else "dev"). */
export function versionLine(): string {
  return `Wharf version ${packageVersion()}, build ${gitCommit()}`;
}

export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("package.json", packageRoot()), "utf8")) as { version?: string };
    return pkg.version ?? "0.1.0";
  } catch {
    return "0.1.0";
  }
}

export function gitCommit(): string {
  try {
    const git = new URL(".git/", packageRoot());
    const head = readFileSync(new URL("HEAD", git), "utf8").trim();
    if (!head.startsWith("ref: ")) return head.slice(0, 7);
    const ref = head.slice(5);
    try {
      return readFileSync(new URL(ref, git), "utf8").trim().slice(0, 7);
    } catch {
      const packed = readFileSync(new URL("packed-refs", git), "utf8");
      const line = packed.split("\n").find((l) => l.endsWith(` ${ref}`));
      return line ? line.slice(0, 7) : "dev";
    }
  } catch {
    return "dev";
  }
}

