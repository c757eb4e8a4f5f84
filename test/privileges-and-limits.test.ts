import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ok, TestDaemon } from "./support/daemon.js";

/**
 * `--cap-add/--cap-drop`, `--privileged`, `--security-opt` and the cgroup
 * limits (`-m`, `--cpus`, `--pids-limit`, …), driven by the real docker CLI
 * (and our own) against a real daemon: what the process inside sees in
 * /proc/self/status and in its cgroups, what inspect says, and the errors
 * dockerd gives for bad values (nothing created).
 */
const p = `wharftest-${randomBytes(3).toString("hex")}`;


/** The CapEff mask of the container's process, as a set of bit numbers. */
function capBits(statusLine: string): Set<number> {
  const hex = /CapEff:\s*([0-9a-f]+)/.exec(statusLine)?.[1];
  assert.ok(hex, `no CapEff in ${statusLine}`);
  const v = BigInt(`0x${hex}`);
  const bits = new Set<number>();
  for (let i = 0; i < 64; i++) if ((v >> BigInt(i)) & 1n) bits.add(i);
  return bits;
}

const CAP_CHOWN = 0;
const CAP_NET_RAW = 13;
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;

describe("privileges and resource limits", () => {
  let d: TestDaemon;
  before(async () => {
    d = await TestDaemon.start({ bridge: "none" });
  });
  after(async () => {
    await d?.stop();
  });

  const status = async (args: string[]) => ok(await d.docker(["run", "--rm", ...args, "busybox", "cat", "/proc/self/status"]), `run ${args.join(" ")}`).stdout;

  test("capabilities: Docker's default set, --cap-add, --cap-drop, ALL", async () => {
    const dflt = capBits(await status([]));
    assert.ok(dflt.has(CAP_CHOWN) && dflt.has(CAP_NET_RAW) && !dflt.has(CAP_NET_ADMIN) && !dflt.has(CAP_SYS_ADMIN));
    assert.equal(dflt.size, 14);

    const tweaked = capBits(await status(["--cap-add", "NET_ADMIN", "--cap-drop", "chown"]));
    assert.ok(tweaked.has(CAP_NET_ADMIN) && !tweaked.has(CAP_CHOWN));
    // The capability works, and without it the same thing is refused.
    assert.equal(ok(await d.docker(["run", "--rm", "--cap-add", "NET_ADMIN", "busybox", "ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]), "ip addr with NET_ADMIN").code, 0);
    const refused = await d.docker(["run", "--rm", "busybox", "ip", "addr", "add", "10.9.9.9/32", "dev", "lo"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Operation not permitted/);
    assert.notEqual((await d.docker(["run", "--rm", "--cap-drop", "CHOWN", "busybox", "chown", "1", "/tmp"])).code, 0);

    assert.deepEqual([...capBits(await status(["--cap-drop", "ALL", "--cap-add", "CAP_CHOWN"]))], [CAP_CHOWN]);
    const all = capBits(await status(["--cap-add", "ALL", "--cap-drop", "NET_RAW"]));
    assert.ok(all.has(CAP_SYS_ADMIN) && !all.has(CAP_NET_RAW));
  });

  test("--privileged: every capability, writable /sys, the host's devices, nothing masked", async () => {
    const r = ok(await d.docker(["run", "--rm", "--privileged", "busybox", "sh", "-c", "cat /proc/self/status; grep ' /sys ' /proc/mounts; ls /dev; echo masked: $(grep -c ' /proc/timer_list ' /proc/mounts)"]), "run --privileged").stdout;
    assert.ok(capBits(r).has(CAP_SYS_ADMIN));
    assert.match(r, /sysfs \/sys sysfs rw,/);
    assert.match(r, /^loop-control$/m, "a host device node (/dev/loop-control) is in the container");
    assert.match(r, /^masked: 0$/m);
    const plain = await d.docker(["run", "--rm", "busybox", "sh", "-c", "grep ' /sys ' /proc/mounts; ls /dev"]);
    assert.match(plain.stdout, /sysfs \/sys sysfs ro,/);
    assert.doesNotMatch(plain.stdout, /^loop-control$/m);
  });

  test("exec --privileged gets every capability; a plain exec keeps the container's", async () => {
    const name = `${p}-exec`;
    ok(await d.docker(["run", "-d", "--name", name, "busybox", "sleep", "60"]), "run -d");
    try {
      assert.ok(!capBits(ok(await d.docker(["exec", name, "cat", "/proc/self/status"]), "exec").stdout).has(CAP_SYS_ADMIN));
      assert.ok(capBits(ok(await d.docker(["exec", "--privileged", name, "cat", "/proc/self/status"]), "exec --privileged").stdout).has(CAP_SYS_ADMIN));
    } finally {
      await d.docker(["rm", "-f", name]);
    }
  });

  test("--security-opt no-new-privileges and systempaths=unconfined", async () => {
    assert.match(await status(["--security-opt", "no-new-privileges"]), /NoNewPrivs:\s*1/);
    assert.match(await status(["--security-opt", "no-new-privileges=false"]), /NoNewPrivs:\s*0/);
    assert.match(await status([]), /NoNewPrivs:\s*0/);
    const masked = await d.docker(["run", "--rm", "busybox", "sh", "-c", "grep -c ' /proc/timer_list ' /proc/mounts"]);
    assert.equal(masked.stdout.trim(), "1", "/proc/timer_list is masked by default");
    const unmasked = await d.docker(["run", "--rm", "--security-opt", "systempaths=unconfined", "busybox", "sh", "-c", "grep -c ' /proc/timer_list ' /proc/mounts"]);
    assert.equal(unmasked.stdout.trim(), "0");
  });

  test("seccomp: the default filter, one fitted to the capabilities, unconfined, privileged, a profile of the user's", async () => {
    const seccompMode = async (args: string[]) => /Seccomp:\s*(\d)/.exec(await status(args))?.[1];
    assert.equal(await seccompMode([]), "2", "filtered by default");
    assert.equal(await seccompMode(["--security-opt", "seccomp=unconfined"]), "0");
    assert.equal(await seccompMode(["--privileged"]), "0");
    // A user namespace needs no capability: the filter is what refuses it.
    const userns = await d.docker(["run", "--rm", "busybox", "unshare", "-U", "true"]);
    assert.notEqual(userns.code, 0);
    assert.match(userns.stderr, /Operation not permitted/);
    ok(await d.docker(["run", "--rm", "--security-opt", "seccomp=unconfined", "busybox", "unshare", "-U", "true"]), "unshare -U unconfined");
    // mount is refused by the filter unless the container has CAP_SYS_ADMIN, as in Docker's profile.
    ok(await d.docker(["run", "--rm", "--cap-add", "SYS_ADMIN", "busybox", "mount", "-t", "tmpfs", "none", "/mnt"]), "mount with SYS_ADMIN");
    const info = ok(await d.docker(["info", "--format", "{{json .SecurityOptions}}"]), "info").stdout;
    assert.match(info, /name=seccomp,profile=builtin/);

    const profile = join(d.dataRoot, "..", "no-mkdir.json");
    await writeFile(profile, JSON.stringify({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] }));
    for (const cli of ["docker", "wharf"] as const) {
      const r = await d[cli](["run", "--rm", "--security-opt", `seccomp=${profile}`, "busybox", "mkdir", "/tmp/x"]);
      assert.notEqual(r.code, 0, cli);
      assert.match(r.stderr, /Operation not permitted/, cli);
    }
  });

  test("cgroup limits reach the container's cgroups, and inspect shows them", async () => {
    const name = `${p}-limits`;
    ok(await d.docker(["run", "-d", "--name", name, "-m", "64m", "--cpus", "0.5", "--pids-limit", "20", "--cpu-shares", "512", "busybox", "sleep", "60"]), "run -d with limits");
    try {
      const read = async (f: string) => ok(await d.docker(["exec", name, "cat", `/sys/fs/cgroup/${f}`]), `cat ${f}`).stdout.trim();
      assert.equal(await read("memory/memory.limit_in_bytes"), String(64 * 1024 * 1024));
      assert.equal(await read("cpu/cpu.cfs_quota_us"), "50000");
      assert.equal(await read("cpu/cpu.cfs_period_us"), "100000");
      assert.equal(await read("cpu/cpu.shares"), "512");
      assert.equal(await read("pids/pids.max"), "20");
      const hc = JSON.parse(ok(await d.docker(["inspect", "-f", "{{json .HostConfig}}", name]), "inspect").stdout) as Record<string, unknown>;
      assert.equal(hc.Memory, 64 * 1024 * 1024);
      assert.equal(hc.MemorySwap, 128 * 1024 * 1024, "dockerd's default: as much swap again");
      assert.equal(hc.NanoCpus, 500_000_000);
      assert.equal(hc.CpuShares, 512);
      assert.equal(hc.PidsLimit, 20);
    } finally {
      await d.docker(["rm", "-f", name]);
    }
    // Our own CLI sends the same fields.
    const cpuset = ok(await d.wharf(["run", "--rm", "--cpuset-cpus", "0", "--cpu-period", "50000", "--cpu-quota", "25000", "busybox", "sh", "-c", "cat /sys/fs/cgroup/cpuset/cpuset.cpus /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us"]), "wharf run with cpu flags");
    assert.equal(cpuset.stdout, "0\n50000\n25000\n");
  });

  test("--device, --ulimit, --oom-score-adj, --cgroup-parent, --cgroupns", async () => {
    const dev = ok(await d.docker(["run", "--rm", "--device", "/dev/loop-control:/dev/lc:r", "busybox", "ls", "-l", "/dev/lc"]), "--device").stdout;
    assert.match(dev, /^c.* 10, +237 /, "the host's loop-control node, renamed");
    assert.doesNotMatch(ok(await d.docker(["run", "--rm", "busybox", "ls", "/dev"]), "ls /dev").stdout, /loop-control/);
    const missing = await d.docker(["run", "--rm", "--device", "/dev/wharf-no-such-device", "busybox", "true"]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /error gathering device information while adding custom device "\/dev\/wharf-no-such-device"/);

    assert.equal(ok(await d.docker(["run", "--rm", "--ulimit", "nofile=512:1024", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn"]), "--ulimit").stdout, "512\n1024\n");
    assert.equal(ok(await d.wharf(["run", "--rm", "--ulimit", "nproc=100", "busybox", "sh", "-c", "ulimit -u"]), "wharf --ulimit").stdout, "100\n");
    assert.equal(ok(await d.docker(["run", "--rm", "--oom-score-adj", "500", "busybox", "cat", "/proc/self/oom_score_adj"]), "--oom-score-adj").stdout, "500\n");

    const parent = `${p}-parent`;
    try {
      const cg = ok(await d.docker(["run", "--rm", "--cgroup-parent", parent, "busybox", "cat", "/proc/self/cgroup"]), "--cgroup-parent").stdout;
      assert.match(cg, new RegExp(`:memory:/${parent}/[0-9a-f]{64}$`, "m"));
    } finally {
      // runc removes the container's cgroups, not the parent it was asked to create them under.
      for (const c of await readdir("/sys/fs/cgroup")) await rmdir(join("/sys/fs/cgroup", c, parent)).catch(() => undefined);
    }
    assert.match(ok(await d.docker(["run", "--rm", "--cgroupns", "private", "busybox", "cat", "/proc/self/cgroup"]), "--cgroupns").stdout, /:memory:\/$/m);
  });

  test("--volumes-from: the other container's volumes at the same places, :ro honoured", async () => {
    const data = `${p}-data`;
    ok(await d.docker(["create", "--name", data, "-v", "/data", "busybox"]), "create data container");
    try {
      ok(await d.docker(["run", "--rm", "--volumes-from", data, "busybox", "sh", "-c", "echo shared > /data/x"]), "write through --volumes-from");
      const ro = await d.docker(["run", "--rm", "--volumes-from", `${data}:ro`, "busybox", "sh", "-c", "cat /data/x; touch /data/y"]);
      assert.equal(ro.stdout, "shared\n");
      assert.match(ro.stderr, /Read-only file system/);
      const missing = await d.docker(["run", "--rm", "--volumes-from", `${p}-nope`, "busybox", "true"]);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /No such container/);
    } finally {
      await d.docker(["rm", "-f", "-v", data]);
    }
  });

  test("bad values: dockerd's message, exit 125, nothing created", async () => {
    const before = ok(await d.docker(["ps", "-aq"]), "ps").stdout;
    const profile = join(d.dataRoot, "..", "seccomp-profile.json");
    await writeFile(profile, JSON.stringify({ syscalls: [] }));
    const cases: Array<[string[], RegExp]> = [
      [["--cap-add", "NOPE"], /unknown capability: "CAP_NOPE"/],
      [["-m", "1k"], /Minimum memory limit allowed is 6MB/],
      [["-m", "64m", "--memory-swap", "32m"], /Minimum memoryswap limit should be larger than memory limit/],
      [["--cpus", "100"], /Range of CPUs is from 0\.01 to \d+\.00, as there are only \d+ CPUs available/],
      [["--cpus", "0.5", "--cpu-quota", "20000"], /Conflicting options: Nano CPUs and CPU Quota cannot both be set/],
      [["--cpuset-cpus", "999"], /Requested CPUs are not available/],
      [["--security-opt", "foo=bar"], /invalid --security-opt 2: "foo=bar"/],
      [["--security-opt", "no-new-privileges=maybe"], /invalid --security-opt 2/],
      // The docker CLI reads a profile file and sends its JSON.
      [["--security-opt", `seccomp=${profile}`], /decoding seccomp profile failed/],
      [["--gpus", "all"], /could not select device driver/],
      [["--device-read-bps", "/dev/null:1mb"], /--device-read-bps is not supported/],
      [["--ulimit", "nofile=2048:1024"], /ulimit soft limit must be less than or equal to hard limit/],
      [["--oom-score-adj", "5000"], /range for oom score adj is \[-1000, 1000\]/],
    ];
    for (const [args, message] of cases) {
      const r = await d.docker(["run", "--rm", ...args, "busybox", "true"]);
      assert.equal(r.code, 125, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
    }
    assert.equal(ok(await d.docker(["ps", "-aq"]), "ps").stdout, before);

  });
});
