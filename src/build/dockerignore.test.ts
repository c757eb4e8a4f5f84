import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors.js";
import { DockerIgnore } from "./dockerignore.js";

/** Paths (files unless they end in "/") the ignore file leaves out, of those given. */
function excluded(ignore: string, paths: string[]): string[] {
  const di = DockerIgnore.parse(ignore);
  return paths.filter((p) => di.excludes(p.replace(/\/$/, ""), p.endsWith("/")));
}

describe("DockerIgnore.parse", () => {
  it("skips comments and blank lines, trims, and cleans paths", () => {
    const di = DockerIgnore.parse("# comment\n\n  *.log  \r\n/abs\n./rel/\n!  ./keep.log\na/b/../c\n\t\n");
    assert.deepEqual(di.patterns, ["*.log", "abs", "rel", "!keep.log", "a/c"]);
  });

  it("treats # as a comment only in the first column", () => {
    assert.deepEqual(excluded("  #hash\n", ["#hash", "hash"]), ["#hash"]);
  });

  it("excludes nothing when empty", () => {
    const di = DockerIgnore.parse("");
    assert.equal(di.excludes("anything", false), false);
    assert.equal(di.mayIncludeUnder("anything"), false);
  });

  it("refuses malformed patterns, naming the line", () => {
    for (const [text, message] of [
      ["ok\n[a\n", '.dockerignore:2: syntax error in pattern "[a"'],
      ["a\\", '.dockerignore:1: syntax error in pattern "a\\\\"'],
      ["[]a]", '.dockerignore:1: syntax error in pattern "[]a]"'],
      ["[a-]", '.dockerignore:1: syntax error in pattern "[a-]"'],
      ["x\n!\n", '.dockerignore:2: illegal exclusion pattern: "!"'],
    ] as const) {
      assert.throws(
        () => DockerIgnore.parse(text),
        (err: unknown) => err instanceof InvalidArgumentError && err.message === message,
        text,
      );
    }
  });
});

describe("DockerIgnore.excludes", () => {
  const tree = [
    "README.md",
    "README-secret.md",
    "docs/",
    "docs/guide.md",
    "src/",
    "src/main.go",
    "src/pkg/util.go",
    "src/pkg/util_test.go",
    "temp1",
    "temp12",
    "somedir/",
    "somedir/temporary.txt",
    "somedir/sub/temp.txt",
    "node_modules/",
    "node_modules/x/index.js",
    "notes.txt",
    "logs/a.txt",
  ];

  it("follows filepath.Match: * and ? stop at /", () => {
    assert.deepEqual(excluded("*.md", tree), ["README.md", "README-secret.md"]);
    assert.deepEqual(excluded("*/temp*", tree), ["somedir/temporary.txt"]);
    assert.deepEqual(excluded("*/*/temp*", tree), ["somedir/sub/temp.txt"]);
    assert.deepEqual(excluded("temp?", tree), ["temp1"]);
  });

  it("matches ** across directories, and **x as a plain suffix", () => {
    assert.deepEqual(excluded("**/*.go", tree), ["src/main.go", "src/pkg/util.go", "src/pkg/util_test.go"]);
    assert.deepEqual(excluded("**/*_test.go", tree), ["src/pkg/util_test.go"]);
    assert.deepEqual(excluded("src/**/*.go", tree), ["src/main.go", "src/pkg/util.go", "src/pkg/util_test.go"]);
    assert.deepEqual(excluded("**.txt", tree), ["somedir/temporary.txt", "somedir/sub/temp.txt", "notes.txt", "logs/a.txt"]);
    assert.deepEqual(excluded("**/temp1", tree), ["temp1"]);
    // A trailing ** takes what is inside, not the directory itself.
    assert.deepEqual(excluded("src/**", tree), ["src/main.go", "src/pkg/util.go", "src/pkg/util_test.go"]);
    assert.equal(excluded("**", tree).length, tree.length);
  });

  it("reads character classes and escapes", () => {
    assert.deepEqual(excluded("temp[0-9]", tree), ["temp1"]);
    assert.deepEqual(excluded("temp[^2]", tree), ["temp1"]);
    assert.deepEqual(excluded("[a-z]*.txt", tree), ["notes.txt"]);
    assert.deepEqual(excluded("\\*.md", ["*.md", "a.md"]), ["*.md"]);
    assert.deepEqual(excluded("a[\\]]b", ["a]b", "a\\b"]), ["a]b"]);
    assert.deepEqual(excluded("a?b", ["a/b", "a.b"]), ["a.b"]);
    assert.deepEqual(excluded("a[^x]b", ["a/b", "a.b"]), ["a.b"]);
    assert.deepEqual(excluded("a+b(c).d", ["a+b(c).d", "aab(c)xd"]), ["a+b(c).d"]);
  });

  it("excludes everything below a matching directory", () => {
    assert.deepEqual(excluded("node_modules", tree), ["node_modules/", "node_modules/x/index.js"]);
    assert.deepEqual(excluded("somedir/", tree), ["somedir/", "somedir/temporary.txt", "somedir/sub/temp.txt"]);
    assert.deepEqual(excluded("s*", tree), ["src/", "src/main.go", "src/pkg/util.go", "src/pkg/util_test.go", "somedir/", "somedir/temporary.txt", "somedir/sub/temp.txt"]);
  });

  it("lets the last matching pattern win (the examples in Docker's docs)", () => {
    assert.deepEqual(excluded("*.md\n!README*.md\nREADME-secret.md\n", tree), ["README-secret.md"]);
    assert.deepEqual(excluded("*.md\nREADME-secret.md\n!README*.md\n", tree), []);
    assert.deepEqual(excluded("docs\n!docs/guide.md\n", tree), ["docs/"]);
    assert.deepEqual(excluded("*\n!src\nsrc/pkg\n", tree).filter((p) => p.startsWith("src")), ["src/pkg/util.go", "src/pkg/util_test.go"]);
  });

  it("takes paths as a walker gives them", () => {
    const di = DockerIgnore.parse("build\n");
    assert.equal(di.excludes("./build/out.o", false), true);
    assert.equal(di.excludes("/build", true), true);
    assert.equal(di.excludes("builder", true), false);
  });

  it("never excludes the context root", () => {
    const di = DockerIgnore.parse("*\n**\n.\n/\n");
    assert.equal(di.excludes(".", true), false);
    assert.equal(di.excludes("", true), false);
    assert.equal(di.excludes("x", false), true);
  });
});

describe("DockerIgnore.mayIncludeUnder", () => {
  it("is false without exceptions", () => {
    assert.equal(DockerIgnore.parse("node_modules\n").mayIncludeUnder("node_modules"), false);
  });

  it("follows an exception down its literal path", () => {
    const di = DockerIgnore.parse("vendor\n!vendor/keep/me.txt\n");
    assert.equal(di.mayIncludeUnder("vendor"), true);
    assert.equal(di.mayIncludeUnder("vendor/keep"), true);
    assert.equal(di.mayIncludeUnder("vendor/other"), false);
    assert.equal(di.excludes("vendor/keep/me.txt", false), false);
    assert.equal(di.excludes("vendor/keep/you.txt", false), true);
  });

  it("follows globs component by component and gives up at **", () => {
    const di = DockerIgnore.parse("*\n!*/keep\n");
    assert.equal(di.mayIncludeUnder("a"), true);
    assert.equal(di.mayIncludeUnder("a/b"), false);
    const deep = DockerIgnore.parse("*\n!**/keep\n");
    assert.equal(deep.mayIncludeUnder("a/b/c"), true);
    const prefix = DockerIgnore.parse("*\n!src/gen**\n");
    assert.equal(prefix.mayIncludeUnder("src"), true);
    assert.equal(prefix.mayIncludeUnder("src/generated"), true);
    assert.equal(prefix.mayIncludeUnder("lib"), false);
  });

  it("copes with a class that holds a slash", () => {
    const di = DockerIgnore.parse("*\n!a[/]b\n");
    assert.equal(di.mayIncludeUnder("a["), true);
    assert.equal(di.excludes("a/b", false), true);
  });

  it("says true below a re-included ancestor", () => {
    const di = DockerIgnore.parse("*\n!app\napp/tmp\n");
    assert.equal(di.mayIncludeUnder("app/tmp"), true);
    assert.equal(di.mayIncludeUnder("."), true);
  });
});
