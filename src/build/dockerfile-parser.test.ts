import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors.js";
import type {
  CopyInstruction,
  Dockerfile,
  HealthcheckInstruction,
  Instruction,
  KeyValueInstruction,
  OnbuildInstruction,
  RunInstruction,
} from "./dockerfile.js";
import { DockerfileSyntaxError, parseDockerfile } from "./dockerfile-parser.js";
import { parseDuration } from "../lib/go-duration.js";

/** The instructions of the only stage. */
function body(text: string): Instruction[] {
  const df = parseDockerfile(text);
  assert.equal(df.stages.length, 1);
  return df.stages[0]!.instructions;
}

function only<T extends Instruction>(text: string): T {
  const list = body(`FROM scratch\n${text}`);
  assert.equal(list.length, 1, `one instruction in ${JSON.stringify(text)}`);
  return list[0] as T;
}

/** Every step as `Step n/m : …` would print it, FROM lines included. */
function steps(df: Dockerfile): string[] {
  return [
    ...df.globalArgs.map((a) => a.source.text),
    ...df.stages.flatMap((s) => [s.from.source.text, ...s.instructions.map((i) => i.source.text)]),
  ];
}

function rejects(text: string, message: string | RegExp, fileName?: string): DockerfileSyntaxError {
  let caught: unknown;
  try {
    parseDockerfile(text, fileName);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof DockerfileSyntaxError, `expected a syntax error for ${JSON.stringify(text)}, got ${String(caught)}`);
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

describe("parseDockerfile: the tutorial Dockerfiles", () => {
  it("reads the one from 'Writing a Dockerfile'", () => {
    // SEED-docker-and-mesos.md, "Writing a Dockerfile", with the ENV and CMD the section adds.
    const df = parseDockerfile(
      [
        "FROM centos:7",
        "# Add EPEL repos (for python-pip)",
        "RUN rpm -iUvh http://dl.fedoraproject.org/pub/epel/7/x86_64/e/epel-release-7-5.noarch.rpm",
        "RUN yum -y update",
        "RUN yum -y install python python-pip git jq openssl python-devel",
        'RUN yum -y groupinstall "Development tools"',
        "RUN export foo=bar",
        "RUN echo ${foo}",
        "ENV foo bar",
        "CMD echo $foo",
        "",
      ].join("\n"),
    );
    assert.equal(df.escapeChar, "\\");
    assert.equal(df.syntax, undefined);
    assert.deepEqual(df.globalArgs, []);
    const stage = df.stages[0]!;
    assert.equal(stage.from.image, "centos:7");
    assert.equal(stage.from.stageName, undefined);
    assert.deepEqual(
      stage.instructions.map((i) => i.keyword),
      ["RUN", "RUN", "RUN", "RUN", "RUN", "RUN", "ENV", "CMD"],
    );
    const groupinstall = stage.instructions[3] as RunInstruction;
    // Shell form keeps quotes and `$` for the shell to handle.
    assert.deepEqual(groupinstall.command, { kind: "shell", command: 'yum -y groupinstall "Development tools"' });
    assert.deepEqual((stage.instructions[5] as RunInstruction).command, { kind: "shell", command: "echo ${foo}" });
    assert.deepEqual((stage.instructions[6] as KeyValueInstruction).pairs, [{ key: "foo", value: "bar" }]);
    assert.deepEqual(stage.instructions[7], {
      keyword: "CMD",
      source: { line: 10, endLine: 10, text: "CMD echo $foo" },
      flags: {},
      command: { kind: "shell", command: "echo $foo" },
    });
    assert.equal(stage.instructions[0]!.source.line, 3);
    assert.equal(steps(df).length, 9);
  });

  // The tutorial's coolapp/ and anotherapp/ folders (github.com/rncry/docker101, which the seed walks through).
  const coolapp = [
    "# We're going to use our first image that we built as a base",
    "FROM foobar",
    "",
    "RUN yum install -y PyQt4",
    "",
    "# Install some reasonable TTF fonts for Qt!",
    "ADD msttcorefonts-2.5-2.noarch.rpm /tmp/ttf/",
    "RUN \\",
    "   rpm -i /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm && \\",
    "   rm -f /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm",
    "# Tell Qt where these prettier fonts are",
    "ENV QT_QWS_FONTDIR /usr/share/fonts/msttcorefonts",
    "RUN yum install -y ttmkfdir xorg-x11-fonts*",
    "",
    "##",
    "# Disable X11 SHM extension use",
    "##",
    "ENV QT_X11_NO_MITSHM 1",
    "",
    "# ADD will copy a file from your local host folder to the path specified inside the image",
    "ADD coolapp.py /usr/local/bin/coolapp",
    "",
    "# Make it executable in the image",
    "# Not actually necessary in this case as the file is already executable on the host,",
    "# but this is included for completeness",
    "RUN chmod +x /usr/local/bin/coolapp",
    "",
    // No newline at the end of the file, as in the original.
    "CMD /usr/local/bin/coolapp",
  ].join("\n");

  it("reads coolapp (continuations, comment blocks, no final newline)", () => {
    const df = parseDockerfile(coolapp);
    assert.deepEqual(steps(df), [
      "FROM foobar",
      "RUN yum install -y PyQt4",
      "ADD msttcorefonts-2.5-2.noarch.rpm /tmp/ttf/",
      "RUN    rpm -i /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm &&    rm -f /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm",
      "ENV QT_QWS_FONTDIR /usr/share/fonts/msttcorefonts",
      "RUN yum install -y ttmkfdir xorg-x11-fonts*",
      "ENV QT_X11_NO_MITSHM 1",
      "ADD coolapp.py /usr/local/bin/coolapp",
      "RUN chmod +x /usr/local/bin/coolapp",
      "CMD /usr/local/bin/coolapp",
    ]);
    const [, add, fonts, env] = df.stages[0]!.instructions as [Instruction, CopyInstruction, RunInstruction, KeyValueInstruction];
    assert.deepEqual(add.sources, ["msttcorefonts-2.5-2.noarch.rpm"]);
    assert.equal(add.dest, "/tmp/ttf/");
    assert.deepEqual(add.heredocs, []);
    assert.deepEqual(fonts.source, {
      line: 8,
      endLine: 10,
      text: "RUN    rpm -i /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm &&    rm -f /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm",
    });
    assert.deepEqual(fonts.command, {
      kind: "shell",
      command: "rpm -i /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm &&    rm -f /tmp/ttf/msttcorefonts-2.5-2.noarch.rpm",
    });
    assert.deepEqual(env.pairs, [{ key: "QT_QWS_FONTDIR", value: "/usr/share/fonts/msttcorefonts" }]);
    assert.equal(df.stages[0]!.instructions.at(-1)!.source.line, 28);
  });

  it("reads anotherapp", () => {
    const df = parseDockerfile(
      "FROM coolapp\n\nADD anotherapp.py /usr/local/bin/anotherapp\nADD anotherapp.cfg /etc/anotherapp.cfg\n\nCMD /usr/local/bin/anotherapp",
    );
    assert.equal(df.stages[0]!.from.image, "coolapp");
    assert.deepEqual(steps(df), [
      "FROM coolapp",
      "ADD anotherapp.py /usr/local/bin/anotherapp",
      "ADD anotherapp.cfg /etc/anotherapp.cfg",
      "CMD /usr/local/bin/anotherapp",
    ]);
    const cfg = df.stages[0]!.instructions[1] as CopyInstruction;
    assert.deepEqual([cfg.sources, cfg.dest, cfg.source.line], [["anotherapp.cfg"], "/etc/anotherapp.cfg", 4]);
  });
});

describe("parseDockerfile: lines", () => {
  it("takes keywords in any case and prints them upper-cased", () => {
    const df = parseDockerfile("from busybox as Base\nrun echo hi\n  Cmd  [\"sh\"]  \n");
    assert.deepEqual(steps(df), ["FROM busybox as Base", "RUN echo hi", 'CMD  ["sh"]']);
    assert.equal(df.stages[0]!.from.stageName, "base");
    assert.equal(df.stages[0]!.instructions[0]!.keyword, "RUN");
  });

  it("tolerates blanks after the escape that continues a line", () => {
    const run = only<RunInstruction>("RUN echo a \\   \n  b \\\t\nc");
    assert.deepEqual(run.command, { kind: "shell", command: "echo a   b c" });
    assert.deepEqual([run.source.line, run.source.endLine], [2, 4]);
  });

  it("drops comment and blank lines inside a continuation", () => {
    const run = only<RunInstruction>("RUN apt-get update && \\\n  # why: the list is stale\n\n    # indented comment \\\n  apt-get install -y curl");
    assert.deepEqual(run.command, { kind: "shell", command: "apt-get update &&   apt-get install -y curl" });
    assert.equal(run.source.endLine, 6);
  });

  it("keeps a # that is not at the start of a line", () => {
    const run = only<RunInstruction>("RUN echo hi # not a comment");
    assert.deepEqual(run.command, { kind: "shell", command: "echo hi # not a comment" });
  });

  it("ends a continuation at the end of the file", () => {
    const run = only<RunInstruction>("RUN echo hi \\");
    assert.deepEqual(run.command, { kind: "shell", command: "echo hi" });
  });

  it("reads CRLF line endings and a byte-order mark", () => {
    const df = parseDockerfile("\uFEFFFROM busybox\r\nRUN echo a \\\r\n  b\r\n");
    assert.deepEqual(steps(df), ["FROM busybox", "RUN echo a   b"]);
  });

  it("counts lines the way an editor does", () => {
    const df = parseDockerfile("# comment\n\nFROM a\n\n\n# c\nRUN x\n");
    assert.equal(df.stages[0]!.from.source.line, 3);
    assert.equal(df.stages[0]!.instructions[0]!.source.line, 7);
  });
});

describe("parseDockerfile: parser directives", () => {
  it("reads syntax and escape, keys in any case, blanks anywhere", () => {
    const df = parseDockerfile("#  SYNTAX = docker/dockerfile:1.7 \n#escape=`\nFROM windows\nRUN dir c:\\\nCOPY a.txt c:\\\n");
    assert.equal(df.syntax, "docker/dockerfile:1.7");
    assert.equal(df.escapeChar, "`");
    // With the backtick escape a trailing backslash is just a path.
    assert.deepEqual(steps(df), ["FROM windows", "RUN dir c:\\", "COPY a.txt c:\\"]);
    assert.equal((df.stages[0]!.instructions[1] as CopyInstruction).dest, "c:\\");
  });

  it("continues lines with the backtick under escape=`", () => {
    const df = parseDockerfile("# escape=`\nFROM windows\nRUN powershell `\n    Get-ChildItem\n");
    assert.deepEqual((df.stages[0]!.instructions[0] as RunInstruction).command, {
      kind: "shell",
      command: "powershell     Get-ChildItem",
    });
  });

  it("uses the escape character in ENV words", () => {
    const df = parseDockerfile("# escape=`\nFROM a\nENV a=x` y b=c\\d\n");
    assert.deepEqual((df.stages[0]!.instructions[0] as KeyValueInstruction).pairs, [
      { key: "a", value: "x` y" },
      { key: "b", value: "c\\d" },
    ]);
  });

  for (const [name, text] of [
    ["a comment", "# hello\n# escape=`\nFROM a\n"],
    ["a blank line", "\n# escape=`\nFROM a\n"],
    ["an instruction", "FROM a\n# escape=`\n"],
    ["an unknown directive", "# foo=bar\n# escape=`\nFROM a\n"],
  ] as const) {
    it(`ignores a directive after ${name}`, () => {
      assert.equal(parseDockerfile(text).escapeChar, "\\");
    });
  }

  it("refuses a repeated directive and a bad escape token", () => {
    rejects("# escape=`\n# Escape=\\\nFROM a\n", "Dockerfile:2: only one escape parser directive can be used");
    rejects("# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\");
  });
});

describe("parseDockerfile: heredocs", () => {
  it("reads a RUN heredoc; the command is the line, the body is separate", () => {
    const run = only<RunInstruction>("RUN <<EOF\napt-get update\n# stays: bodies are verbatim\nRUN not an instruction\nEOF\n");
    assert.deepEqual(run.command, { kind: "shell", command: "<<EOF" });
    assert.deepEqual(run.heredocs, [
      {
        name: "EOF",
        content: "apt-get update\n# stays: bodies are verbatim\nRUN not an instruction\n",
        expand: true,
        chomp: false,
      },
    ]);
    assert.deepEqual(run.source, { line: 2, endLine: 6, text: "RUN <<EOF" });
  });

  it("strips leading tabs with <<- and turns expansion off for quoted delimiters", () => {
    const run = only<RunInstruction>("RUN <<-'A' cat - <<\"B\" 3<<C\n\tx\n\t  A\n\t\tA\n B\nB\n$C\nC\n");
    assert.deepEqual(
      run.heredocs.map((h) => [h.name, h.content, h.expand, h.chomp]),
      [
        ["A", "x\n  A\n", false, true],
        ["B", " B\n", false, false],
        ["C", "$C\n", true, false],
      ],
    );
  });

  it("sees quoting anywhere in the delimiter, and not an escaped quote", () => {
    const run = only<RunInstruction>("RUN <<E\"O\"F cat <<eo\\'f\nx\nEOF\ny\neo'f\n");
    assert.deepEqual(
      run.heredocs.map((h) => [h.name, h.expand]),
      [
        ["EOF", false],
        ["eo'f", true],
      ],
    );
  });

  it("reads several heredocs in order, each up to its own delimiter", () => {
    const copy = only<CopyInstruction>("COPY <<X <<Y /dest/\nY\nX\nX\nY\n");
    assert.deepEqual(copy.sources, ["X", "Y"]);
    assert.equal(copy.dest, "/dest/");
    assert.deepEqual(
      copy.heredocs.map((h) => [h.name, h.content]),
      [
        ["X", "Y\n"],
        ["Y", "X\n"],
      ],
    );
  });

  it("mixes heredoc and context sources in COPY and ADD", () => {
    const copy = only<CopyInstruction>("ADD --chmod=755 <<-EOT app.sh /usr/local/bin/\n\t#!/bin/sh\n\techo hi\n\tEOT\n");
    assert.deepEqual(copy.sources, ["EOT", "app.sh"]);
    assert.deepEqual(copy.flags, { chmod: "755" });
    assert.equal(copy.heredocs[0]!.content, "#!/bin/sh\necho hi\n");
  });

  it("allows blanks between << and the delimiter", () => {
    const run = only<RunInstruction>("RUN cat << EOF\nhi\nEOF\n");
    assert.deepEqual(run.heredocs.map((h) => h.name), ["EOF"]);
  });

  it("finds no heredoc in exec form, inside quotes, or in other instructions", () => {
    assert.deepEqual(only<RunInstruction>('RUN ["cat", "<<EOF"]').heredocs, []);
    assert.deepEqual(only<RunInstruction>('RUN echo "<<EOF"').heredocs, []);
    assert.deepEqual(only<RunInstruction>("RUN echo a<<b").heredocs, []);
    assert.deepEqual(only<CopyInstruction>('COPY ["<<EOF", "/x"]').sources, ["<<EOF"]);
    rejects("FROM a\nLABEL x=<<EOF\nEOF\n", "Dockerfile:3: unknown instruction: EOF");
  });

  it("carries ONBUILD heredocs in the trigger", () => {
    const onbuild = only<OnbuildInstruction>("ONBUILD RUN <<EOF\necho hi\nEOF\n");
    assert.equal(onbuild.trigger, "RUN <<EOF\necho hi\nEOF");
    assert.equal(onbuild.source.endLine, 4);
    // The trigger parses again on its own in a child build.
    const child = only<RunInstruction>(onbuild.trigger);
    assert.equal(child.heredocs[0]!.content, "echo hi\n");
  });

  it("refuses an unterminated heredoc and a heredoc destination", () => {
    rejects("FROM a\n\nRUN <<EOF\necho hi\n", 'Dockerfile:3: unterminated heredoc "EOF"');
    rejects("FROM a\nCOPY a <<EOF\nx\nEOF\n", "Dockerfile:2: COPY cannot accept a heredoc as a destination");
  });
});

describe("parseDockerfile: command forms", () => {
  it("reads exec form, spaces and JSON escapes included", () => {
    assert.deepEqual(only<RunInstruction>('RUN [ "echo", "a \\"b\\"", "c\\\\d" ]').command, {
      kind: "exec",
      args: ["echo", 'a "b"', "c\\d"],
    });
    assert.deepEqual(only<Instruction & { command: unknown }>("ENTRYPOINT []").command, { kind: "exec", args: [] });
  });

  it("falls back to shell form when the brackets are not JSON", () => {
    assert.deepEqual(only<RunInstruction>("RUN [ -f /etc/os-release ] && cat /etc/os-release").command, {
      kind: "shell",
      command: "[ -f /etc/os-release ] && cat /etc/os-release",
    });
    assert.deepEqual(only<RunInstruction>("RUN ['single', 'quotes']").command, {
      kind: "shell",
      command: "['single', 'quotes']",
    });
  });

  it("ignores what follows the JSON array, as Docker's decoder does", () => {
    assert.deepEqual(only<RunInstruction>('RUN ["echo", "a"] trailing').command, { kind: "exec", args: ["echo", "a"] });
  });

  it("reads SHELL in JSON form only", () => {
    const shell = only<Instruction & { args: string[] }>('SHELL ["powershell", "-command"]');
    assert.deepEqual([shell.keyword, shell.args], ["SHELL", ["powershell", "-command"]]);
    rejects("FROM a\nSHELL /bin/bash -c", "Dockerfile:2:7: SHELL requires the arguments to be in JSON form");
    rejects("FROM a\nSHELL []", "Dockerfile:2: SHELL requires at least one argument");
  });

  it("refuses JSON arrays of non-strings and empty commands", () => {
    rejects('FROM a\nCMD ["sleep", 10]', "Dockerfile:2:5: when using JSON array syntax, arrays must be comprised of strings only");
    rejects("FROM a\nRUN", "Dockerfile:2: RUN requires at least one argument");
    rejects("FROM a\nRUN []", "Dockerfile:2: RUN requires at least one argument");
    rejects("FROM a\nENTRYPOINT", "Dockerfile:2: ENTRYPOINT requires at least one argument");
  });
});

describe("parseDockerfile: ENV, LABEL, ARG", () => {
  it("reads ENV in both forms, values raw", () => {
    const pairs = (text: string) => only<KeyValueInstruction>(text).pairs;
    assert.deepEqual(pairs("ENV k v   w"), [{ key: "k", value: "v   w" }]);
    assert.deepEqual(pairs('ENV a=1 b="x y" c=\'$HOME\' d=e\\ f'), [
      { key: "a", value: "1" },
      { key: "b", value: '"x y"' },
      { key: "c", value: "'$HOME'" },
      { key: "d", value: "e\\ f" },
    ]);
    assert.deepEqual(pairs('ENV e=""'), [{ key: "e", value: '""' }]);
    assert.deepEqual(pairs("ENV PATH=/x:$PATH"), [{ key: "PATH", value: "/x:$PATH" }]);
  });

  it("reads LABEL pairs", () => {
    assert.deepEqual(only<KeyValueInstruction>('LABEL "com.example.vendor"="ACME Incorporated" version=1.0 \\\n  description="multi \\\n line"').pairs, [
      { key: '"com.example.vendor"', value: '"ACME Incorporated"' },
      { key: "version", value: "1.0" },
      { key: "description", value: '"multi  line"' },
    ]);
  });

  it("reads ARG with and without defaults", () => {
    assert.deepEqual(only<Instruction & { args: unknown }>('ARG a=b c d="x y"').args, [
      { name: "a", defaultValue: "b" },
      { name: "c" },
      { name: "d", defaultValue: '"x y"' },
    ]);
    assert.deepEqual(only<Instruction & { args: unknown }>("ARG e=").args, [{ name: "e", defaultValue: "" }]);
  });

  it("refuses malformed pairs", () => {
    rejects("FROM a\nENV", "Dockerfile:2: ENV requires at least one argument");
    rejects("FROM a\nENV lonely", "Dockerfile:2: ENV must have two arguments");
    rejects("FROM a\nENV a=1 b", `Dockerfile:2: Syntax error - can't find = in "b". Must be of the form: name=value`);
    rejects("FROM a\nLABEL =x", "Dockerfile:2: LABEL names can not be blank");
    rejects("FROM a\nARG", "Dockerfile:2: ARG requires at least one argument");
    rejects("FROM a\nARG =x", "Dockerfile:2: ARG names can not be blank");
  });
});

describe("parseDockerfile: word instructions", () => {
  const words = (text: string) => only<Instruction & { words: string[] }>(text).words;

  it("splits EXPOSE and VOLUME on blanks, VOLUME also as JSON", () => {
    assert.deepEqual(words("EXPOSE 80/tcp  443 $PORT"), ["80/tcp", "443", "$PORT"]);
    assert.deepEqual(words("VOLUME /data /logs"), ["/data", "/logs"]);
    assert.deepEqual(words('VOLUME ["/data", "/with space"]'), ["/data", "/with space"]);
  });

  it("takes the rest of the line as the one word of WORKDIR, USER, STOPSIGNAL, MAINTAINER", () => {
    assert.deepEqual(words("WORKDIR   /path/with space  "), ["/path/with space"]);
    assert.deepEqual(words("USER app:app"), ["app:app"]);
    assert.deepEqual(words("STOPSIGNAL SIGTERM"), ["SIGTERM"]);
    assert.deepEqual(words("MAINTAINER Jim Vanns <jvanns@ilm.com>"), ["Jim Vanns <jvanns@ilm.com>"]);
  });

  it("refuses them empty", () => {
    rejects("FROM a\nEXPOSE", "Dockerfile:2: EXPOSE requires at least one argument");
    rejects("FROM a\nVOLUME []", "Dockerfile:2: VOLUME requires at least one argument");
    rejects('FROM a\nVOLUME ["/a", " "]', "Dockerfile:2: VOLUME specified can not be an empty string");
    rejects("FROM a\nWORKDIR  ", "Dockerfile:2: WORKDIR requires exactly one argument");
    rejects("FROM a\nUSER", "Dockerfile:2: USER requires exactly one argument");
  });
});

describe("parseDockerfile: COPY and ADD", () => {
  it("reads flags, several sources and the destination", () => {
    const copy = only<CopyInstruction>("COPY --from=build --chown=1000:1000 --chmod=644 --link a b/*.txt /app/");
    assert.deepEqual(copy.flags, { from: "build", chown: "1000:1000", chmod: "644", link: "true" });
    assert.deepEqual([copy.sources, copy.dest], [["a", "b/*.txt"], "/app/"]);
  });

  it("reads the JSON form, quoted flag values and boolean values", () => {
    const copy = only<CopyInstruction>('COPY --chown="a b" --link=False ["my file", "/dest dir/"]');
    assert.deepEqual(copy.flags, { chown: "a b", link: "false" });
    assert.deepEqual([copy.sources, copy.dest], [["my file"], "/dest dir/"]);
    const add = only<CopyInstruction>("ADD --checksum=sha256:abc --keep-git-dir https://x/y.tar /y");
    assert.deepEqual(add.flags, { checksum: "sha256:abc", "keep-git-dir": "true" });
  });

  it("stops reading flags at --", () => {
    const copy = only<CopyInstruction>("COPY -- --weird-name /x");
    assert.deepEqual([copy.flags, copy.sources], [{}, ["--weird-name"]]);
  });

  it("refuses a missing destination and bad flags, pointing at the flag", () => {
    rejects("FROM a\nCOPY onlyone", /^Dockerfile:2: COPY requires at least two arguments, but only one was provided/);
    rejects("FROM a\nADD", "Dockerfile:2: ADD requires at least two arguments");
    rejects("FROM a\nCOPY --frm=build a b", "Dockerfile:2:6: unknown flag: --frm (COPY takes --from, --chown, --chmod, --link)");
    rejects("FROM a\nCOPY --link \\\n  --checksum=x a b", "Dockerfile:3:3: unknown flag: --checksum (COPY takes --from, --chown, --chmod, --link)");
    rejects("FROM a\nCOPY --from=a --from=b a b", "Dockerfile:2:15: duplicate flag specified: --from");
    rejects("FROM a\nCOPY --from a b", "Dockerfile:2:6: missing a value on flag: --from");
    rejects("FROM a\nCOPY --link=maybe a b", "Dockerfile:2:6: expecting boolean value for flag --link, not: maybe");
    rejects("FROM a\nRUN --mount=type=cache,target=/x make", "Dockerfile:2:5: unknown flag: --mount (RUN takes no flags)");
  });
});

describe("parseDockerfile: FROM and stages", () => {
  it("reads platform, stage names and the ARGs before the first FROM", () => {
    const df = parseDockerfile(
      "ARG GO=1.22\nARG BASE\nFROM --platform=$BUILDPLATFORM golang:${GO} AS Build-1\nARG GO\nRUN go build\nFROM scratch\nCOPY --from=build-1 /out /\n",
    );
    assert.deepEqual(
      df.globalArgs.map((a) => a.args),
      [[{ name: "GO", defaultValue: "1.22" }], [{ name: "BASE" }]],
    );
    const [build, final] = df.stages as [Dockerfile["stages"][0], Dockerfile["stages"][0]];
    assert.deepEqual([build.from.image, build.from.stageName, build.from.flags], ["golang:${GO}", "build-1", { platform: "$BUILDPLATFORM" }]);
    assert.deepEqual(build.instructions.map((i) => i.keyword), ["ARG", "RUN"]);
    assert.deepEqual([final.from.image, final.from.stageName], ["scratch", undefined]);
  });

  it("refuses bad FROM lines", () => {
    rejects("FROM", "Dockerfile:1: FROM requires either one or three arguments");
    rejects("FROM a b", "Dockerfile:1: FROM requires either one or three arguments");
    rejects("FROM a AS b c", "Dockerfile:1: FROM requires either one or three arguments");
    rejects(
      "FROM a AS 1st",
      `Dockerfile:1:11: invalid name for build stage: "1st", name can't start with a number or contain symbols`,
    );
    rejects("FROM a AS x\nFROM b as X\n", 'Dockerfile:2: duplicate stage name "x"');
    rejects("FROM --platform linux/amd64 a", "Dockerfile:1:6: missing a value on flag: --platform");
  });

  it("refuses anything but ARG before the first FROM, and files without a stage", () => {
    rejects("# hi\nARG a\nRUN echo\nFROM a\n", "Dockerfile:3: no build stage in current context (RUN before the first FROM)");
    rejects("", "Dockerfile: file with no instructions");
    rejects("# only a comment\n\n  \n", "Dockerfile: file with no instructions");
    rejects("ARG a\n", "Dockerfile: dockerfile contains no stages to build (no FROM instruction)");
  });

  it("names the file in its messages", () => {
    const err = rejects("FROM a\nRUNN x\n", "build/Dockerfile.dev:2: unknown instruction: RUNN", "build/Dockerfile.dev");
    assert.ok(err instanceof InvalidArgumentError);
    assert.equal(err.kind, "invalid-argument");
    assert.equal(err.name, "DockerfileSyntaxError");
    assert.deepEqual([err.fileName, err.line, err.column, err.reason], ["build/Dockerfile.dev", 2, undefined, "unknown instruction: RUNN"]);
  });

  it("refuses unknown instructions wherever they are", () => {
    rejects("RUNN x", "Dockerfile:1: unknown instruction: RUNN");
    rejects("FROM a\n\n# c\n  copyy a b\n", "Dockerfile:4: unknown instruction: COPYY");
  });
});

describe("parseDockerfile: HEALTHCHECK", () => {
  it("reads NONE and CMD with its flags", () => {
    assert.equal(only<HealthcheckInstruction>("HEALTHCHECK NONE").command, null);
    const hc = only<HealthcheckInstruction>(
      "HEALTHCHECK --interval=5m --timeout=3s --start-period=1m30s --start-interval=500ms --retries=3 \\\n  CMD curl -f http://localhost/ || exit 1",
    );
    assert.deepEqual(hc.flags, { interval: "5m", timeout: "3s", "start-period": "1m30s", "start-interval": "500ms", retries: "3" });
    assert.deepEqual(hc.command, { kind: "shell", command: "curl -f http://localhost/ || exit 1" });
    assert.deepEqual(only<HealthcheckInstruction>('healthcheck cmd ["/bin/check", "-q"]').command, {
      kind: "exec",
      args: ["/bin/check", "-q"],
    });
  });

  it("refuses the malformed ones", () => {
    rejects("FROM a\nHEALTHCHECK", "Dockerfile:2: HEALTHCHECK requires at least one argument");
    rejects("FROM a\nHEALTHCHECK NONE now", "Dockerfile:2: HEALTHCHECK NONE takes no arguments");
    rejects("FROM a\nHEALTHCHECK CMD", "Dockerfile:2: Missing command after HEALTHCHECK CMD");
    rejects("FROM a\nHEALTHCHECK CMD []", "Dockerfile:2: Missing command after HEALTHCHECK CMD");
    rejects("FROM a\nHEALTHCHECK RUN x", 'Dockerfile:2:13: Unknown type "RUN" in HEALTHCHECK (try CMD)');
    rejects("FROM a\nHEALTHCHECK --interval=5 CMD x", 'Dockerfile:2:13: invalid duration "5" for --interval');
    rejects("FROM a\nHEALTHCHECK --timeout=10us CMD x", 'Dockerfile:2:13: --timeout cannot be less than 1ms (got "10us")');
    rejects("FROM a\nHEALTHCHECK --retries=-1 CMD x", "Dockerfile:2:13: --retries cannot be negative (-1)");
    rejects("FROM a\nHEALTHCHECK --retries=two CMD x", 'Dockerfile:2:13: --retries must be an integer, not "two"');
    rejects(
      "FROM a\nHEALTHCHECK --every=5s CMD x",
      "Dockerfile:2:13: unknown flag: --every (HEALTHCHECK takes --interval, --timeout, --start-period, --start-interval, --retries)",
    );
  });
});

describe("parseDockerfile: ONBUILD", () => {
  it("keeps the trigger as written", () => {
    const onbuild = only<OnbuildInstruction>("ONBUILD   COPY --chown=app . /app/src  ");
    assert.deepEqual(onbuild.source, { line: 2, endLine: 2, text: "ONBUILD   COPY --chown=app . /app/src" });
    assert.equal(onbuild.trigger, "COPY --chown=app . /app/src");
    assert.deepEqual(onbuild.flags, {});
  });

  it("checks the trigger now rather than in every child build", () => {
    rejects("FROM a\nONBUILD", "Dockerfile:2: ONBUILD requires at least one argument");
    rejects("FROM a\nONBUILD ONBUILD RUN x", "Dockerfile:2:9: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    rejects("FROM a\nonbuild from b", "Dockerfile:2:9: FROM isn't allowed as an ONBUILD trigger");
    rejects("FROM a\nONBUILD MAINTAINER me", "Dockerfile:2:9: MAINTAINER isn't allowed as an ONBUILD trigger");
    rejects("FROM a\nONBUILD RUNN x", "Dockerfile:2:9: unknown instruction: RUNN");
    rejects("FROM a\nONBUILD COPY --form=x a b", /^Dockerfile:2:14: unknown flag: --form/);
    rejects("FROM a\nONBUILD --x RUN y", /^Dockerfile:2:9: unknown flag: --x \(ONBUILD takes no flags\)/);
  });
});

describe("parseDuration", () => {
  const ok: [string, number][] = [
    ["0", 0],
    ["30s", 30e9],
    ["1m30s", 90e9],
    ["1.5h", 5400e9],
    ["250ms", 250e6],
    ["10us", 10e3],
    ["10µs", 10e3],
    ["7ns", 7],
    [".5s", 5e8],
    ["-2s", -2e9],
  ];
  for (const [text, nanos] of ok) {
    it(`reads ${text}`, () => assert.equal(parseDuration(text), nanos));
  }
  for (const text of ["", "5", "s", "1x", "1.s5", "--1s", "1 s"]) {
    it(`refuses ${JSON.stringify(text)}`, () => assert.throws(() => parseDuration(text), InvalidArgumentError));
  }
});
