import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors.js";
import { expandRaw, expandWord, expandWords, lexShell } from "./shell-words.js";

const env: Record<string, string> = {
  A: "a",
  SP: "x y",
  E: "",
  P: "/usr/local/bin/app.tar.gz",
  O: "foo-bar-boo",
  "1": "first",
};
const lookup = (name: string): string | undefined => (Object.hasOwn(env, name) ? env[name] : undefined);

describe("expandWord", () => {
  const cases: [string, string][] = [
    // input, expanded (U is unset, E is set but empty)
    ["plain", "plain"],
    ["$A", "a"],
    ["${A}", "a"],
    ["${A}_x", "a_x"],
    ["$A_x", ""],
    ["$A-x", "a-x"],
    ["$U", ""],
    ["${U}", ""],
    ["pre${SP}post", "prex ypost"],
    ["$", "$"],
    ["a$", "a$"],
    ["$1", "first"],
    ["$@", ""],
    ["${U:-def}", "def"],
    ["${E:-def}", "def"],
    ["${A:-def}", "a"],
    ["${U-def}", "def"],
    ["${E-def}", ""],
    ["${A:+alt}", "alt"],
    ["${E:+alt}", ""],
    ["${U:+alt}", ""],
    ["${E+alt}", "alt"],
    ["${U+alt}", ""],
    ["${E?}", ""],
    ["${A:?}", "a"],
    ["${U:-$A}", "a"],
    ['${U:-"x  y"}', "x  y"],
    ["${U:-${A:+nested}}", "nested"],
    ["'$A'", "$A"],
    ["'a\\b'", "a\\b"],
    ['"$A"', "a"],
    ['"${SP}"', "x y"],
    ['"\\$A"', "$A"],
    ['"a\\"b"', 'a"b'],
    ['"a\\b"', "a\\b"],
    ['"it\'s"', "it's"],
    ["\\$A", "$A"],
    ["\\${A}", "${A}"],
    ["a\\ b", "a b"],
    ["\\'x\\'", "'x'"],
    ["a\\", "a"],
    ['"a"\'b\'c', "abc"],
    ["keep   inner  spaces", "keep   inner  spaces"],
    // Pattern operators (glob: * and ? only).
    ["${P#*/}", "usr/local/bin/app.tar.gz"],
    ["${P##*/}", "app.tar.gz"],
    ["${P%.*}", "/usr/local/bin/app.tar"],
    ["${P%%.*}", "/usr/local/bin/app"],
    ["${P#nomatch}", "/usr/local/bin/app.tar.gz"],
    ["${P##/usr/?ocal}", "/bin/app.tar.gz"],
    ["${O/oo/00}", "f00-bar-boo"],
    ["${O//oo/00}", "f00-bar-b00"],
    ["${O/b*r/X}", "foo-X-boo"],
    ["${O/$/X}", "foo-bar-boo"],
    ["${U#x}", ""],
  ];
  for (const [input, want] of cases) {
    it(`expands ${input}`, () => assert.equal(expandWord(input, lookup), want));
  }

  it("escapes with the backtick under escape=`, and then \\ is literal", () => {
    assert.equal(expandWord("`$A", lookup, "`"), "$A");
    assert.equal(expandWord("c:\\dir\\$A", lookup, "`"), "c:\\dir\\a");
    assert.equal(expandWord('"`"q`""', lookup, "`"), '"q"');
  });

  const errors: [string, string][] = [
    ["${U:?}", 'failed to process "${U:?}": U: is not allowed to be unset'],
    ["${U?}", 'failed to process "${U?}": U: is not allowed to be unset'],
    ["${E:?}", 'failed to process "${E:?}": E: is not allowed to be empty'],
    ["${U:?set U first}", 'failed to process "${U:?set U first}": U: set U first'],
    ["${A", `failed to process "\${A": syntax error: missing '}'`],
    ["${A:-x", `failed to process "\${A:-x": syntax error: missing '}'`],
    ["${", `failed to process "\${": syntax error: missing '}'`],
    ["${}", 'failed to process "${}": syntax error: bad substitution'],
    ["${:x}", 'failed to process "${:x}": syntax error: bad substitution'],
    ["${A:=x}", 'failed to process "${A:=x}": unsupported modifier (:=) in substitution'],
    ["${A^}", 'failed to process "${A^}": unsupported modifier (^) in substitution'],
    ["${A/x}", `failed to process "\${A/x}": syntax error: missing '/' in \${}`],
    ["${P#\\a}", "failed to process \"${P#\\\\a}\": invalid pattern (\\a) in substitution: invalid escape '\\a'"],
    ["'open", 'failed to process "\'open": unexpected end of statement while looking for matching single-quote'],
    ['"open', 'failed to process "\\"open": unexpected end of statement while looking for matching double-quote'],
  ];
  for (const [input, message] of errors) {
    it(`refuses ${input}`, () => {
      assert.throws(
        () => expandWord(input, lookup),
        (err: unknown) => err instanceof InvalidArgumentError && err.message === message,
      );
    });
  }
});

describe("expandWords", () => {
  const cases: [string, string[]][] = [
    ["a b  c", ["a", "b", "c"]],
    ["  lead trail  ", ["lead", "trail"]],
    ['"a b" c', ["a b", "c"]],
    ["'x y'z", ["x yz"]],
    ["a\\ b", ["a b"]],
    // A value's whitespace splits unless the reference is quoted.
    ["$SP", ["x", "y"]],
    ['"$SP"', ["x y"]],
    ["pre$SP", ["prex", "y"]],
    ["${U:-80 443}", ["80", "443"]],
    ["$U", []],
    ['"" a', ["a"]],
    ["", []],
    ["80/tcp\t443/udp", ["80/tcp", "443/udp"]],
  ];
  for (const [input, want] of cases) {
    it(`splits ${JSON.stringify(input)}`, () => assert.deepEqual(expandWords(input, lookup), want));
  }

  it("throws the same errors", () => {
    assert.throws(() => expandWords("a ${U:?}", lookup), InvalidArgumentError);
  });
});

describe("expandRaw (heredoc bodies)", () => {
  it("substitutes variables but leaves quotes alone", () => {
    assert.equal(expandRaw("echo \"$SP\" '$A' ${U:-d}\n", lookup), "echo \"x y\" 'a' d\n");
    assert.equal(expandRaw("cost: \\$5\n", lookup), "cost: $5\n");
  });
});

describe("lexShell", () => {
  it("keeps quotes and escapes when asked, and unset references as written", () => {
    const r = lexShell(`RUN "a b" \\x $U \${U:-z} <<'EOF'`, lookup, { rawQuotes: true, rawEscapes: true, skipUnset: true });
    assert.deepEqual(r.words, ["RUN", '"a b"', "\\x", "$U", "${U:-z}", "<<'EOF'"]);
  });

  it("keeps << and its delimiter together in heredoc mode", () => {
    assert.deepEqual(lexShell("cat <<  EOF", lookup, { heredocs: true }).words, ["cat", "<<  EOF"]);
    assert.deepEqual(lexShell("a < b", lookup, { heredocs: true }).words, ["a", "<", "b"]);
  });
});
