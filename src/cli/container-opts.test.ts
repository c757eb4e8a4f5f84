import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { UsageError } from "./cli-errors.js";
import { parseCreate } from "./commands/create.js";
import { parseEnvFile, parsePortSpec, parseRestartPolicy, portBindings, withDefaultTag } from "./container-opts.js";
import { Capture, noTerminal } from "./testing/test-io.js";

const io = { stdout: new Capture(), env: { HOME: "/root", FROM_ENV: "yes" }, terminal: noTerminal() };
const run = (...argv: string[]) => parseCreate(argv, io, "run");
type Body = Record<string, unknown> & { HostConfig: Record<string, unknown> };

test("short-flag clusters and the first positional stops option parsing", () => {
  const r = run("-itd", "--rm", "busybox", "ls", "-l", "--all");
  const b = r.body as Body;
  assert.equal(r.detach, true);
  assert.equal(b.Tty, true);
  assert.equal(b.OpenStdin, true);
  assert.equal(b.HostConfig.AutoRemove, true);
  assert.deepEqual(b.Cmd, ["ls", "-l", "--all"]);
  assert.equal(b.Image, "busybox");
  // Detached: nothing attached, and stdin is not closed after the first attach.
  assert.equal(b.AttachStdout, false);
  assert.equal(b.StdinOnce, false);
});

test("interactive foreground run attaches everything, stdin once", () => {
  const b = run("-it", "busybox", "sh").body as Body;
  assert.equal(b.AttachStdin, true);
  assert.equal(b.AttachStdout, true);
  assert.equal(b.AttachStderr, true);
  assert.equal(b.StdinOnce, true);
  assert.equal(run("busybox").body.Cmd, undefined);
});

test("repeated flags accumulate; -e takes values from our env", () => {
  const b = run("-e", "A=1", "--env", "B=2", "-eC=3", "-e", "FROM_ENV", "-e", "UNSET_VAR", "-l", "x=1", "--label", "y", "-v", "/a:/b:ro", "-v", "/anon", "busybox").body as Body;
  assert.deepEqual(b.Env, ["A=1", "B=2", "C=3", "FROM_ENV=yes"]);
  assert.deepEqual(b.Labels, { x: "1", y: "" });
  assert.deepEqual(b.HostConfig.Binds, ["/a:/b:ro"]);
  assert.deepEqual(b.Volumes, { "/anon": {} });
});

test("docker's other run flags land in Config/HostConfig", () => {
  const b = run(
    "--name", "web", "-w", "/srv", "-u", "1000:1000", "--entrypoint", "/bin/sh", "-h", "box",
    "--restart", "on-failure:3", "--network", "mynet", "--network-alias", "db", "--link", "other:o",
    "--privileged", "--init", "--runtime", "crun", "--stop-signal", "SIGINT", "--stop-timeout", "5",
    "-m", "64m", "--cpus", "1.5", "--read-only", "--add-host", "h:1.2.3.4", "--tmpfs", "/run:size=1m",
    "--cap-add", "NET_ADMIN", "--dns", "1.1.1.1", "busybox",
  ).body as Body;
  const hc = b.HostConfig;
  assert.equal(b.WorkingDir, "/srv");
  assert.equal(b.User, "1000:1000");
  assert.deepEqual(b.Entrypoint, ["/bin/sh"]);
  assert.equal(b.Hostname, "box");
  assert.equal(b.StopSignal, "SIGINT");
  assert.equal(b.StopTimeout, 5);
  assert.deepEqual(hc.RestartPolicy, { Name: "on-failure", MaximumRetryCount: 3 });
  assert.equal(hc.NetworkMode, "mynet");
  assert.deepEqual(b.NetworkingConfig, { EndpointsConfig: { mynet: { Aliases: ["db"] } } });
  assert.deepEqual(hc.Links, ["other:o"]);
  assert.equal(hc.Privileged, true);
  assert.equal(hc.Init, true);
  assert.equal(hc.Runtime, "crun");
  assert.equal(hc.Memory, 64 * 2 ** 20);
  assert.equal(hc.NanoCpus, 1.5e9);
  assert.equal(hc.ReadonlyRootfs, true);
  assert.deepEqual(hc.ExtraHosts, ["h:1.2.3.4"]);
  assert.deepEqual(hc.Tmpfs, { "/run": "size=1m" });
  assert.deepEqual(hc.CapAdd, ["NET_ADMIN"]);
  assert.deepEqual(hc.Dns, ["1.1.1.1"]);
  assert.equal(run("--name", "web", "busybox").name, "web");
  assert.deepEqual(run("--entrypoint", "", "busybox").body.Entrypoint, [""]);
  assert.equal((run("busybox").body as Body).HostConfig.NetworkMode, "default");
});

test("publish: bindings and exposed ports", () => {
  const b = run("-p", "8080:80", "-p", "127.0.0.1:53:53/udp", "-p", "9000", "--expose", "7000-7001", "-P", "busybox").body as Body;
  assert.deepEqual(b.ExposedPorts, { "80/tcp": {}, "53/udp": {}, "9000/tcp": {}, "7000/tcp": {}, "7001/tcp": {} });
  assert.deepEqual(b.HostConfig.PortBindings, {
    "80/tcp": [{ HostIp: "", HostPort: "8080" }],
    "53/udp": [{ HostIp: "127.0.0.1", HostPort: "53" }],
    "9000/tcp": [{ HostIp: "", HostPort: "" }],
  });
  assert.equal(b.HostConfig.PublishAllPorts, true);
});

test("parsePortSpec covers docker's forms and errors", () => {
  assert.deepEqual(parsePortSpec("[::1]:8080:80"), [{ port: "80/tcp", binding: { HostIp: "::1", HostPort: "8080" } }]);
  assert.deepEqual(parsePortSpec("127.0.0.1::80"), [{ port: "80/tcp", binding: { HostIp: "127.0.0.1", HostPort: "" } }]);
  assert.deepEqual(
    parsePortSpec("8000-8001:80-81").map((m) => [m.port, m.binding.HostPort]),
    [["80/tcp", "8000"], ["81/tcp", "8001"]],
  );
  assert.deepEqual(parsePortSpec("8000-8010:80")[0]!.binding.HostPort, "8000-8010");
  assert.throws(() => parsePortSpec("notaport"), /invalid containerPort: notaport/);
  assert.throws(() => parsePortSpec("x:80"), /invalid hostPort: x/);
  assert.throws(() => parsePortSpec("80/foo"), /invalid proto: foo/);
  assert.throws(() => parsePortSpec("1.2.3:80:80"), /invalid IP address: 1.2.3/);
  assert.throws(() => parsePortSpec("8000-8002:80-81"), /invalid ranges/);
  assert.throws(() => parsePortSpec("70000"), /invalid containerPort/);
  assert.deepEqual(Object.keys(portBindings(["80", "80/udp"]).exposed), ["80/tcp", "80/udp"]);
});

test("restart policies validate like docker", () => {
  assert.deepEqual(parseRestartPolicy("always"), { Name: "always", MaximumRetryCount: 0 });
  assert.deepEqual(parseRestartPolicy("on-failure:5"), { Name: "on-failure", MaximumRetryCount: 5 });
  assert.throws(() => parseRestartPolicy("sometimes"), /unknown policy 'sometimes'/);
  assert.throws(() => parseRestartPolicy("always:3"), /only be used with 'on-failure'/);
  assert.throws(() => parseRestartPolicy("on-failure:x"), /must be an integer/);
  assert.throws(() => parseRestartPolicy(":3"), /no policy provided before colon/);
});

test("bad values are usage errors (exit 125) with docker's wording", () => {
  const usage = (argv: string[], re: RegExp) =>
    assert.throws(() => run(...argv), (e: unknown) => e instanceof UsageError && e.verb === "run" && re.test(e.message));
  usage(["-p", "notaport", "busybox"], /^invalid containerPort: notaport$/);
  usage(["--restart", "sometimes", "busybox"], /unknown policy 'sometimes'/);
  usage(["--rm", "--restart", "always", "busybox"], /Conflicting options: --restart and --rm/);
  usage(["-d", "-a", "stdout", "busybox"], /Conflicting options: -a and -d/);
  usage(["--foo", "busybox"], /^unknown flag: --foo$/);
  usage(["-z", "busybox"], /^unknown shorthand flag: 'z' in -z$/);
  usage(["--name"], /^flag needs an argument: --name$/);
  usage([], /"wharf run" requires at least 1 argument\./);
  usage(["--stop-timeout", "soon", "busybox"], /invalid argument "soon" for "--stop-timeout" flag/);
  usage(["--rm=maybe", "busybox"], /invalid argument "maybe" for "--rm" flag/);
  usage(["--pull", "sometimes", "busybox"], /invalid pull option/);
});

test("--flag=true/false spellings for booleans", () => {
  assert.equal((run("--rm=true", "busybox").body as Body).HostConfig.AutoRemove, true);
  assert.equal((run("--rm=false", "busybox").body as Body).HostConfig.AutoRemove, false);
  assert.equal(run("--sig-proxy=false", "busybox").sigProxy, false);
  assert.equal(run("busybox").sigProxy, true);
  // After the image, `--rm=false` belongs to the container's command.
  assert.deepEqual(run("busybox", "--rm=false").body.Cmd, ["--rm=false"]);
});

test("env files: comments, blanks, bare names from our env", async () => {
  assert.deepEqual(parseEnvFile("A=1\n# c\n\n  B=two words\nFROM_ENV\nUNSET\n", "f", io.env), ["A=1", "B=two words", "FROM_ENV=yes"]);
  assert.throws(() => parseEnvFile("BAD NAME=1", "f", {}), /contains whitespaces/);
  const dir = await mkdtemp(join(tmpdir(), "wharf-test-cli-"));
  try {
    await writeFile(join(dir, "env"), "X=1\n");
    assert.deepEqual(run("--env-file", join(dir, "env"), "-e", "Y=2", "busybox").body.Env, ["X=1", "Y=2"]);
    assert.throws(() => run("--env-file", join(dir, "nope"), "busybox"), /no such file or directory/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("withDefaultTag for the 'Unable to find image' line", () => {
  assert.equal(withDefaultTag("busybox"), "busybox:latest");
  assert.equal(withDefaultTag("localhost:5000/busybox"), "localhost:5000/busybox:latest");
  assert.equal(withDefaultTag("busybox:1.36"), "busybox:1.36");
  assert.equal(withDefaultTag("busybox@sha256:abc"), "busybox@sha256:abc");
});
