import assert from "node:assert/strict";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UnavailableError } from "./errors.js";
import { Launcher, shellQuote } from "./launcher.js";

async function withLauncher(fn: (l: Launcher) => Promise<void>): Promise<void> {
  const l = new Launcher();
  try {
    await fn(l);
  } finally {
    l.close();
  }
}

test("shellQuote keeps every word one word, quotes included", () => {
  assert.equal(shellQuote("a b"), "'a b'");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

test("launch: argv words reach the program unchanged, stdout and stderr apart, exit code kept", () =>
  withLauncher(async (l) => {
    const odd = ["with space", "it's", "$HOME", "`x`", "a\nb", "*", "", "-n"];
    const r = await l.launch("sh", ["-c", 'for a in "$@"; do printf "[%s]" "$a"; done; echo oops >&2; exit 3', "sh", ...odd]);
    assert.equal(r.stdout, odd.map((a) => `[${a}]`).join(""));
    assert.equal(r.stderr, "oops\n");
    assert.equal(r.code, 3);
  }));

test("launch: stdin is the input byte for byte, or empty without one", () =>
  withLauncher(async (l) => {
    const input = "line one\n$(not expanded) `nor this`\n\\ backslash\nWHARF_lookalike\n";
    assert.equal((await l.launch("cat", [], { input })).stdout, input);
    assert.equal((await l.launch("cat", [])).stdout, "");
    // Input no here-document can carry exactly goes through a direct spawn, same result.
    assert.equal((await l.launch("cat", [], { input: "no newline at the end" })).stdout, "no newline at the end");
  }));

test("launch: output without a final newline and output bigger than a pipe both come back whole", () =>
  withLauncher(async (l) => {
    assert.equal((await l.launch("printf", ["%s", "no newline"])).stdout, "no newline");
    const big = await l.launch("sh", ["-c", "i=0; while [ $i -lt 20000 ]; do echo line-$i; i=$((i+1)); done"]);
    const lines = big.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 20000);
    assert.equal(lines[19999], "line-19999");
  }));

test("launch: cwd and env apply to that program only", () =>
  withLauncher(async (l) => {
    const dir = await mkdtemp(join(tmpdir(), "launcher-"));
    try {
      const r = await l.launch("sh", ["-c", 'pwd; echo "$WHARF_T"'], { cwd: dir, env: { WHARF_T: "x y" } });
      assert.equal(r.stdout, `${await realpath(dir)}\nx y\n`);
      const next = await l.launch("sh", ["-c", 'pwd; echo "[$WHARF_T]"']);
      assert.notEqual(next.stdout.split("\n")[0], await realpath(dir));
      assert.equal(next.stdout.split("\n")[1], "[]");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }));

test("launch: a missing program is an UnavailableError, and the shell goes on working", () =>
  withLauncher(async (l) => {
    await assert.rejects(l.launch("wharf-no-such-program", ["x"]), (e) => e instanceof UnavailableError && /not found/.test(e.message));
    assert.equal((await l.launch("echo", ["still here"])).stdout, "still here\n");
  }));

test("launch: many at once, more than there are shells, each gets its own answer", () =>
  withLauncher(async (l) => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => l.launch("sh", ["-c", `sleep 0.0${i % 5}; echo out-${i}; echo err-${i} >&2; exit ${i % 7}`])),
    );
    results.forEach((r, i) => {
      assert.equal(r.stdout, `out-${i}\n`);
      assert.equal(r.stderr, `err-${i}\n`);
      assert.equal(r.code, i % 7);
    });
  }));

test("launch: a program killed by a signal reports 128+signal", () =>
  withLauncher(async (l) => {
    assert.equal((await l.launch("sh", ["-c", "kill -9 $$"])).code, 137);
  }));
