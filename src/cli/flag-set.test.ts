import assert from "node:assert/strict";
import { test } from "node:test";
import { collect, HelpShown, newCommand, parseArgs, parseWithCommander, type FlagSet } from "./command-kit.js";
import { addContainerFlags } from "./container-opts.js";
import { Capture } from "./testing/test-io.js";

const runFlags = (): FlagSet => addContainerFlags(newCommand("run", "[OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image", new Capture()), true);
const psFlags = (): FlagSet =>
  newCommand("ps", "[OPTIONS]", "List containers", new Capture())
    .option("-a, --all", "Show all containers (default shows just running)")
    .option("-f, --filter <filter>", "Filter output based on conditions provided", collect, [])
    .option("--format <string>", "Format output using a custom template")
    .option("-n, --last <int>", "Show n last created containers (includes all states)")
    .option("--no-trunc", "Don't truncate output")
    .option("-q, --quiet", "Only display container IDs");
const commitFlags = (): FlagSet =>
  newCommand("commit", "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", "Create a new image", new Capture())
    .option("-a, --author <string>", "Author")
    .option("-c, --change <list>", "Apply Dockerfile instruction", collect, [])
    .option("-p, --pause", "Pause container during commit", true);

/** What commander answers, as a comparable value (key order included) or the error's message. */
function viaCommander(make: () => FlagSet, argv: string[], passThrough: boolean): string {
  try {
    const r = parseWithCommander(make(), "x", argv, { passThrough });
    return JSON.stringify({ options: Object.entries(r.options), args: r.args });
  } catch (err) {
    return `error: ${(err as Error).message}`;
  }
}

const cases: Array<[string, () => FlagSet, boolean, string[]]> = [
  ["run", runFlags, true, ["--rm", "busybox", "true"]],
  ["run", runFlags, true, ["-d", "busybox", "sleep", "60"]],
  ["run", runFlags, true, ["-it", "--name", "web", "-e", "A=1", "-e", "B=2", "-p", "8080:80", "busybox", "sh", "-c", "echo -e --rm"]],
  ["run", runFlags, true, ["-dit", "-v/a:/b", "--env=X=1", "-w", "/tmp", "-h", "host", "busybox"]],
  ["run", runFlags, true, ["--no-sig-proxy", "--sig-proxy", "--restart", "always", "--network", "none", "busybox", "-d"]],
  ["run", runFlags, true, ["--pull", "never", "-u", "1000:1000", "--label", "a=b", "-l", "c=d", "--mount", "type=tmpfs,dst=/x", "img"]],
  ["run", runFlags, true, ["-a", "stdout", "-astderr", "-i", "busybox"]],
  ["run", runFlags, true, ["--name=", "busybox"]],
  ["run", runFlags, true, ["busybox", "--help"]],
  ["run", runFlags, true, ["-", "x"]],
  ["run", runFlags, true, []],
  // Left to commander: help, unknown flags, `--`, boolean values, missing values.
  ["run", runFlags, true, ["--help"]],
  ["run", runFlags, true, ["--bogus", "busybox"]],
  ["run", runFlags, true, ["-Z", "busybox"]],
  ["run", runFlags, true, ["--rm=false", "busybox"]],
  ["run", runFlags, true, ["--rm=maybe", "busybox"]],
  ["run", runFlags, true, ["--sig-proxy=false", "busybox"]],
  ["run", runFlags, true, ["--", "busybox"]],
  ["run", runFlags, true, ["--name"]],
  ["run", runFlags, true, ["-e"]],
  ["run", runFlags, true, ["-ie"]],
  ["ps", psFlags, false, []],
  ["ps", psFlags, false, ["-a", "-q", "--no-trunc"]],
  ["ps", psFlags, false, ["-aq", "-f", "status=exited", "--filter", "name=x", "--format", "{{.ID}}"]],
  ["ps", psFlags, false, ["extra", "-a", "more"]],
  ["ps", psFlags, false, ["-n", "-1"]],
  ["ps", psFlags, false, ["-1"]],
  ["ps", psFlags, false, ["-qa-"]],
  ["commit", commitFlags, false, ["c1", "repo:tag"]],
  ["commit", commitFlags, false, ["--pause=false", "-c", "CMD x", "c1"]],
  ["commit", commitFlags, false, ["-p", "-a", "me", "c1"]],
];

test("FlagSet's fast path answers exactly what commander answers, or leaves the argv to it", () => {
  let fast = 0;
  for (const [verb, make, passThrough, argv] of cases) {
    const flags = make();
    if (passThrough) flags.passThroughOptions();
    const mine = flags.tryParse(argv);
    if (mine === undefined) continue;
    fast++;
    assert.equal(JSON.stringify({ options: Object.entries(mine.options), args: mine.args }), viaCommander(make, argv, passThrough), `${verb} ${argv.join(" ")}`);
  }
  assert.ok(fast >= 15, `fast path took only ${fast} cases`);
});

test("the usual run and ps spellings take the fast path; help and mistakes go to commander", () => {
  const fastRun = (argv: string[]) => runFlags().passThroughOptions().tryParse(argv) !== undefined;
  assert.ok(fastRun(["--rm", "busybox", "true"]));
  assert.ok(fastRun(["-d", "--name", "x", "-e", "A=1", "busybox", "sleep", "60"]));
  assert.ok(fastRun(["-it", "busybox", "sh"]));
  for (const argv of [["--help"], ["--bogus", "x"], ["--rm=false", "x"], ["--", "x"], ["--name"]]) assert.ok(!fastRun(argv), argv.join(" "));
  assert.deepEqual(psFlags().tryParse(["-a"])?.options, { filter: [], trunc: true, all: true });
});

test("parseArgs: commander's help and docker's wording when the fast path steps aside", () => {
  const out = new Capture();
  const flags = newCommand("rm", "[OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", out).option("-f, --force", "Force the removal");
  assert.throws(() => parseArgs(flags, "rm", ["--help"]), HelpShown);
  assert.match(out.text, /Usage: wharf rm \[OPTIONS\] CONTAINER \[CONTAINER\.\.\.\]/);
  assert.match(out.text, /-f, --force +Force the removal/);
  assert.throws(() => parseArgs(newCommand("rm", "", "", out).option("-f, --force", ""), "rm", ["--bogus"]), /unknown flag: --bogus/);
  assert.throws(() => parseArgs(newCommand("rm", "", "", out).option("-f, --force", ""), "rm", ["-x"]), /unknown shorthand flag: 'x' in -x/);
  assert.throws(() => parseArgs(newCommand("ps", "", "", out).option("--format <string>", ""), "ps", ["--format"]), /flag needs an argument: --format/);
});
