import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readlinkSync } from "node:fs";
import { hostname } from "node:os";
import { ok, TestDaemon } from "./support/daemon.js";

/**
 * `--pid`, `--ipc`, `--uts`, `--sysctl`, `--group-add`, `--init` and
 * `--log-driver`/`--log-opt`, driven by the real docker CLI against a real
 * daemon: what the container's process sees, what inspect says, and the
 * refusals (dockerd's words, exit 125) for what cannot be honoured.
 */
const p = `wharftest-${randomBytes(3).toString("hex")}`;


describe("namespaces, sysctls, groups, init and logging", () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start({ bridge: "none" });
  });
  after(async () => {
    await d?.stop();
  });

  const out = async (args: string[], what = args.join(" ")) => ok(await d.docker(["run", "--rm", ...args]), what).stdout;

  test("--pid, --ipc and --uts: the host's, another container's, or none", async () => {
    // The host's PID namespace shows this test's own process; a private one shows only the container's.
    assert.match(await out(["--pid", "host", "busybox", "ps", "-o", "pid"]), new RegExp(`^\\s*${process.pid}$`, "m"));
    assert.doesNotMatch(await out(["busybox", "ps", "-o", "pid"]), new RegExp(`^\\s*${process.pid}$`, "m"));
    assert.equal((await out(["--ipc", "host", "busybox", "readlink", "/proc/self/ns/ipc"])).trim(), readlinkSync("/proc/self/ns/ipc"));
    assert.notEqual((await out(["busybox", "readlink", "/proc/self/ns/ipc"])).trim(), readlinkSync("/proc/self/ns/ipc"));
    assert.equal((await out(["--ipc", "none", "busybox", "sh", "-c", "grep -c ' /dev/shm ' /proc/mounts || true"])).trim(), "0");
    assert.equal((await out(["--uts", "host", "busybox", "hostname"])).trim(), hostname());

    const donor = `${p}-donor`;
    ok(await d.docker(["run", "-d", "--name", donor, "busybox", "sleep", "60"]), "donor");
    try {
      assert.match(await out(["--pid", `container:${donor}`, "busybox", "ps", "-o", "args"]), /^sleep 60$/m);
      const donorIpc = ok(await d.docker(["exec", donor, "readlink", "/proc/self/ns/ipc"]), "donor ipc").stdout;
      assert.equal(await out(["--ipc", `container:${donor}`, "busybox", "readlink", "/proc/self/ns/ipc"]), donorIpc);
      ok(await d.docker(["create", "--pid", `container:${donor}`, "--ipc", "host", "--name", `${p}-modes`, "busybox"]), "create");
      const hc = JSON.parse(ok(await d.docker(["inspect", "-f", "{{json .HostConfig}}", `${p}-modes`]), "inspect").stdout) as Record<string, unknown>;
      assert.equal(hc.PidMode, `container:${donor}`);
      assert.equal(hc.IpcMode, "host");
      ok(await d.docker(["stop", "-t", "0", donor]), "stop donor");
      const r = await d.docker(["start", `${p}-modes`]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /cannot join PID of a non running container/);
    } finally {
      await d.docker(["rm", "-f", donor, `${p}-modes`]);
    }
  });

  test("--sysctl sets namespaced parameters; others, and net.* with the host's network, are refused", async () => {
    assert.equal(await out(["--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "--sysctl", "kernel.shmmax=1000000", "busybox", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start", "/proc/sys/kernel/shmmax"]), "80\n1000000\n");
    const hostNet = await d.docker(["run", "--rm", "--network", "host", "--sysctl", "net.ipv4.ip_forward=1", "busybox", "true"]);
    assert.equal(hostNet.code, 125);
    assert.match(hostNet.stderr, /sysctl 'net\.ipv4\.ip_forward' not allowed/);
    const hostIpc = await d.docker(["run", "--rm", "--ipc", "host", "--sysctl", "kernel.shmmax=1", "busybox", "true"]);
    assert.equal(hostIpc.code, 125);
    // Our own CLI passes it through; the daemon says no.
    const notNamespaced = await d.wharf(["run", "--rm", "--sysctl", "vm.swappiness=10", "busybox", "true"]);
    assert.equal(notNamespaced.code, 125);
    assert.match(notNamespaced.stderr, /sysctl 'vm\.swappiness' is not whitelisted/);
  });

  test("--group-add: by name from the image's /etc/group, or by number", async () => {
    assert.match(await out(["--group-add", "daemon", "--group-add", "4242", "busybox", "id"]), /groups=.*\b1\(daemon\).*\b4242\b/);
    const r = await d.docker(["run", "--rm", "--group-add", "nosuchgroup", "busybox", "id"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unable to find group nosuchgroup/);
  });

  test("--init: docker-init is PID 1 and the command its child", async () => {
    const ps = await out(["--init", "busybox", "ps", "-o", "pid,args"]);
    assert.match(ps, /^\s*1 \/sbin\/docker-init -- ps -o pid,args$/m);
    // Exit codes still come through the init.
    assert.equal((await d.docker(["run", "--rm", "--init", "busybox", "sh", "-c", "exit 7"])).code, 7);
  });

  test("logging: none keeps no log and logs says so; max-size caps the file; other drivers and options are refused", async () => {
    const quiet = `${p}-quiet`;
    ok(await d.docker(["run", "--name", quiet, "--log-driver", "none", "busybox", "echo", "not kept"]), "run --log-driver none");
    try {
      const logs = await d.docker(["logs", quiet]);
      assert.notEqual(logs.code, 0);
      assert.match(logs.stderr, /configured logging driver does not support reading/);
      assert.equal(ok(await d.docker(["inspect", "-f", "{{.HostConfig.LogConfig.Type}}|{{.LogPath}}", quiet]), "inspect").stdout.trim(), "none|");
    } finally {
      await d.docker(["rm", "-f", quiet]);
    }

    const capped = `${p}-capped`;
    ok(await d.docker(["run", "--name", capped, "--log-opt", "max-size=4k", "busybox", "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done"]), "run --log-opt max-size");
    try {
      const lines = ok(await d.docker(["logs", capped]), "logs").stdout.trim().split("\n");
      assert.ok(lines.length > 0 && lines.length < 2000, `${lines.length} lines kept`);
      assert.equal(lines.at(-1), "line-1999", "the newest lines are kept");
    } finally {
      await d.docker(["rm", "-f", capped]);
    }

    for (const [args, message] of [
      [["--log-driver", "syslog"], /no log driver named 'syslog' is registered/],
      [["--log-opt", "max-file=3"], /keeps one log file per container/],
      [["--log-opt", "labels=x"], /unknown log opt 'labels' for json-file log driver/],
    ] as Array<[string[], RegExp]>) {
      const r = await d.docker(["run", "--rm", ...args, "busybox", "true"]);
      assert.equal(r.code, 125, args.join(" "));
      assert.match(r.stderr, message);
    }
  });
});
