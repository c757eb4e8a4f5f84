import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError } from "../lib/errors.js";
import { EscapeProxy, parseDetachKeys, startErrorExitCode } from "./attach-stream.js";
import { errorFromStatus } from "./client.js";
import { HelpShown, UsageError } from "./cli-errors.js";
import { rebaseEntry, splitCpArg } from "./commands/cp.js";
import { isDirMode } from "../lib/path-stat.js";
import { parseDaemonArgs } from "./commands/daemon.js";
import { prettyEvent, rfc3339NanoFixed } from "./commands/events.js";
import { parseGlobalFlags, reportError, resolveHost, resolveVerb } from "./main.js";
import { Capture, testIo } from "./testing/test-io.js";
import { forEachTargetConcurrently } from "./command-kit.js";

test("global flags before the verb", () => {
  const g = parseGlobalFlags(["-H", "tcp://127.0.0.1:2375", "-D", "--log-level=warn", "ps", "-a"]);
  assert.equal(g.host, "tcp://127.0.0.1:2375");
  assert.equal(g.debug, true);
  assert.equal(g.logLevel, "warn");
  assert.deepEqual(g.rest, ["ps", "-a"]);
  assert.equal(parseGlobalFlags(["--host=unix:///x.sock", "images"]).host, "unix:///x.sock");
  assert.equal(parseGlobalFlags(["-v"]).version, true);
  assert.equal(parseGlobalFlags(["--version"]).version, true);
  const d = parseGlobalFlags(["-d", "--data-root", "/tmp/x"]);
  assert.equal(d.daemon, true);
  assert.deepEqual(d.rest, ["--data-root", "/tmp/x"]);
  // Flags after the verb are the verb's (`wharf run -d` is detach, not daemon).
  assert.equal(parseGlobalFlags(["run", "-d", "busybox"]).daemon, false);
  assert.throws(() => parseGlobalFlags(["--bogus", "ps"]), /unknown flag: --bogus/);
});

test("host resolution: -H, then WHARF_HOST, then DOCKER_HOST, then the default socket", () => {
  assert.equal(resolveHost("unix:///a", { WHARF_HOST: "unix:///b", DOCKER_HOST: "unix:///c" }), "unix:///a");
  assert.equal(resolveHost(undefined, { WHARF_HOST: "unix:///b", DOCKER_HOST: "unix:///c" }), "unix:///b");
  assert.equal(resolveHost(undefined, { DOCKER_HOST: "unix:///c" }), "unix:///c");
  assert.equal(resolveHost(undefined, {}), "unix:///run/wharf/wharf.sock");
});

test("management commands map onto verbs", () => {
  assert.deepEqual(resolveVerb(["container", "ls", "-a"]), { verb: "ps", argv: ["-a"] });
  assert.deepEqual(resolveVerb(["image", "rm", "x"]), { verb: "rmi", argv: ["x"] });
  assert.deepEqual(resolveVerb(["image", "inspect", "x"]), { verb: "inspect", argv: ["--type", "image", "x"] });
  assert.deepEqual(resolveVerb(["image"]), { group: "image" });
  assert.deepEqual(resolveVerb(["run", "busybox"]), { verb: "run", argv: ["busybox"] });
});

test("error reporting: one line, docker's wording, docker's exit codes", () => {
  const out = new Capture();
  assert.equal(reportError(new UsageError("ps", "unknown flag: --x"), "ps", out, false), 125);
  assert.equal(reportError(errorFromStatus(404, "No such container: x"), "stop", out, false), 1);
  // The real docker CLI exits 1 for daemon errors of `create`, 125 only for `run`.
  assert.equal(reportError(errorFromStatus(409, "conflict"), "create", out, false), 1);
  assert.equal(reportError(errorFromStatus(409, "conflict"), "run", out, false), 125);
  assert.equal(reportError(new InvalidArgumentError("cowardly refusing to save to a terminal"), "save", out, false), 1);
  assert.equal(reportError(new HelpShown(), "ps", out, false), 0);
  assert.equal(reportError(new TypeError("x is undefined"), "ps", out, false), 1);
  assert.equal(
    out.text,
    "unknown flag: --x\nSee 'wharf ps --help'.\n" +
      "Error response from daemon: No such container: x\n" +
      "Error response from daemon: conflict\n" +
      "wharf: Error response from daemon: conflict.\nSee 'wharf run --help'.\n" +
      "cowardly refusing to save to a terminal\n" +
      "Error: x is undefined\n",
  );
});

test("detach keys: default Ctrl-P Ctrl-Q, held bytes released when the sequence breaks", () => {
  assert.deepEqual(parseDetachKeys("ctrl-p,ctrl-q"), [0x10, 0x11]);
  assert.deepEqual(parseDetachKeys("a,ctrl-["), [97, 27]);
  assert.throws(() => parseDetachKeys("ctrl-!!"), /Unknown character/);
  const p = new EscapeProxy();
  assert.deepEqual(p.feed(Buffer.from("ab\x10")), { forward: Buffer.from("ab"), detached: false });
  assert.deepEqual(p.feed(Buffer.from("c")), { forward: Buffer.from("\x10c"), detached: false });
  assert.deepEqual(p.feed(Buffer.from("x\x10\x10")), { forward: Buffer.from("x\x10"), detached: false });
  assert.equal(p.feed(Buffer.from("\x11")).detached, true);
});

test("start error exit codes", () => {
  assert.equal(startErrorExitCode('exec: "x": executable file not found in $PATH'), 127);
  assert.equal(startErrorExitCode("open /x: no such file or directory"), 127);
  assert.equal(startErrorExitCode('exec: "/etc": permission denied'), 126);
  assert.equal(startErrorExitCode("something else"), 125);
});

test("cp arguments and archive entry renaming", () => {
  assert.deepEqual(splitCpArg("web:/etc/hosts"), { container: "web", path: "/etc/hosts" });
  assert.deepEqual(splitCpArg("/local:with:colons"), { path: "/local:with:colons" });
  assert.deepEqual(splitCpArg("./rel"), { path: "./rel" });
  assert.deepEqual(splitCpArg("-"), { path: "-" });
  assert.equal(rebaseEntry("src/a/b.txt", "src", "dst"), "dst/a/b.txt");
  assert.equal(rebaseEntry("src/", "src", "dst"), "dst");
  assert.equal(rebaseEntry("src/a", "src", ""), "a");
  assert.equal(rebaseEntry("src", "src", ""), undefined);
  assert.equal(rebaseEntry("./a", ".", "dst"), "dst/a");
  assert.equal(isDirMode(2 ** 31 + 0o755), true);
  assert.equal(isDirMode(0o644), false);
});

test("events print like docker's", () => {
  const saved = process.env.TZ;
  process.env.TZ = "UTC";
  try {
    assert.equal(rfc3339NanoFixed(1732472725883506572n), "2024-11-24T18:25:25.883506572Z");
    assert.equal(
      prettyEvent({ Type: "container", Action: "pause", Actor: { ID: "abc", Attributes: { name: "web", a: "b" } }, timeNanoExact: 1732472725883506572n }),
      "2024-11-24T18:25:25.883506572Z container pause abc (a=b, name=web)\n",
    );
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
});

test("daemon flags map to DaemonOptions", () => {
  const o = parseDaemonArgs(["-H", "unix:///tmp/a.sock", "-H", "tcp://127.0.0.1:2375", "--data-root", "/d", "--exec-root", "/e", "--runtime", "crun", "--group", "docker", "--log-level", "warn"], {}, new Capture());
  assert.deepEqual(o, {
    hosts: ["unix:///tmp/a.sock", "tcp://127.0.0.1:2375"],
    dataRoot: "/d",
    execRoot: "/e",
    runtime: "crun",
    logLevel: "warn",
    group: "docker",
  });
  const d = parseDaemonArgs(["-D"], { host: "unix:///g.sock" }, new Capture());
  assert.equal(d.logLevel, "debug");
  assert.deepEqual(d.hosts, ["unix:///g.sock"]);
  assert.deepEqual(parseDaemonArgs([], {}, new Capture()).hosts, ["unix:///run/wharf/wharf.sock"]);
  assert.throws(() => parseDaemonArgs(["--log-level", "loud"], {}, new Capture()), /unable to parse logging level: loud/);
  assert.throws(() => parseDaemonArgs(["-H", "127.0.0.1"], {}, new Capture()), /Invalid bind address format/);
  const net = parseDaemonArgs(["--bip", "10.1.0.1/24", "-b", "br9", "--default-address-pool", "base=10.2.0.0/16,size=24", "--iptables-chain-prefix", "WT1"], {}, new Capture());
  assert.deepEqual([net.bip, net.bridge, net.addressPool, net.iptablesChainPrefix], ["10.1.0.1/24", "br9", "10.2.0.0/16", "WT1"]);
  assert.throws(() => parseDaemonArgs(["--default-address-pool", "base=10.2.0.0/16,size=26"], {}, new Capture()), /expected base=CIDR/);
  assert.throws(() => parseDaemonArgs(["--iptables-chain-prefix", "WAY-TOO-LONG-PREFIX"], {}, new Capture()), /--iptables-chain-prefix/);
  const insecure = parseDaemonArgs(["--insecure-registry", "reg.example:5000", "--insecure-registry=http://10.0.0.0/8"], {}, new Capture());
  assert.deepEqual(insecure.insecureRegistries, ["reg.example:5000", "10.0.0.0/8"]);
  assert.throws(() => parseDaemonArgs(["--insecure-registry", "not a host"], {}, new Capture()), /invalid argument "not a host" for "--insecure-registry" flag/);
});

test("forEachTargetConcurrently: all in flight at once, output in the targets' order, a repeated target after its first turn", async () => {
  const io = testIo(undefined as never);
  const gone = new Set<string>();
  let inFlight = 0;
  let maxInFlight = 0;
  const code = await forEachTargetConcurrently(io, ["a", "b", "nosuch", "c", "a"], async (t) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Later targets finish first.
    await new Promise((r) => setTimeout(r, t === "a" ? 30 : 5));
    inFlight--;
    if (t === "nosuch" || gone.has(t)) throw errorFromStatus(404, `No such container: ${t}`);
    gone.add(t);
    return t;
  });
  assert.equal(code, 1);
  assert.equal(io.stdout.text, "a\nb\nc\n");
  assert.equal(io.stderr.text, "Error response from daemon: No such container: nosuch\nError response from daemon: No such container: a\n");
  assert.equal(maxInFlight, 4);
});
