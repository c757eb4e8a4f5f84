import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { buildOciSpec, buildExecProcess, normalizeCapability, DEFAULT_CAPABILITIES } from "./oci-spec.js";
import type { ContainerSpecInput } from "./runtime.js";
import { InvalidArgumentError } from "../lib/errors.js";

const base: ContainerSpecInput = {
  rootfs: "/var/lib/wharf/snapshots/1/merged",
  args: ["sh", "-c", "echo hi"],
  env: ["PATH=/bin", "HOSTNAME=abc"],
  user: { uid: 1000, gid: 1000, additionalGids: [10, 10, 20] },
  hostname: "abc",
  terminal: false,
  network: { kind: "new" },
  cgroupsPath: "/wharf/abc",
};

describe("buildOciSpec", () => {
  it("has Docker's defaults", () => {
    const spec = buildOciSpec(base);
    assert.deepEqual(spec.process.args, base.args);
    assert.equal(spec.process.cwd, "/");
    assert.deepEqual(spec.process.user, { uid: 1000, gid: 1000, additionalGids: [10, 20] });
    assert.equal(spec.process.rlimits, undefined);
    assert.deepEqual(spec.process.capabilities?.bounding, [...DEFAULT_CAPABILITIES]);
    assert.equal(spec.process.capabilities?.inheritable, undefined);
    assert.equal(spec.process.capabilities?.ambient, undefined);
    assert.deepEqual(spec.root, { path: base.rootfs, readonly: false });
    assert.equal(spec.hostname, "abc");
    assert.deepEqual(spec.linux.namespaces.map((n) => n.type).sort(), ["ipc", "mount", "network", "pid", "uts"]);
    assert.equal(spec.linux.cgroupsPath, "/wharf/abc");
    assert.ok(spec.linux.maskedPaths?.includes("/proc/kcore"));
    assert.ok(spec.linux.readonlyPaths?.includes("/proc/sys"));
    assert.deepEqual(spec.linux.resources?.devices?.[0], { allow: false, access: "rwm" });
    const dests = spec.mounts.map((m) => m.destination);
    assert.deepEqual(dests, ["/proc", "/dev", "/dev/pts", "/sys", "/sys/fs/cgroup", "/dev/mqueue", "/dev/shm"]);
    assert.ok(spec.mounts.find((m) => m.destination === "/dev/shm")!.options!.includes("size=67108864"));
    assert.ok(spec.mounts.find((m) => m.destination === "/dev/pts")!.options!.includes("ptmxmode=0666"));
  });

  it("network modes", () => {
    const host = buildOciSpec({ ...base, network: { kind: "host" } });
    assert.equal(host.linux.namespaces.find((n) => n.type === "network"), undefined);
    const path = buildOciSpec({ ...base, network: { kind: "path", path: "/run/netns/x" } });
    assert.deepEqual(path.linux.namespaces.find((n) => n.type === "network"), { type: "network", path: "/run/netns/x" });
  });

  it("mounts: etc files, binds sorted by depth, tmpfs defaults", () => {
    const spec = buildOciSpec({
      ...base,
      readonlyRootfs: true,
      shmSize: 1024,
      etcFiles: { hosts: "/h/hosts", resolvConf: "/h/resolv.conf" },
      mounts: [
        { type: "bind", source: "/src/a/b", destination: "/data/sub" },
        { type: "volume", source: "/vol/_data", destination: "/data", readOnly: true },
        { type: "tmpfs", destination: "/run", options: ["size=1m", "exec"] },
      ],
    });
    assert.equal(spec.root.readonly, true);
    const user = spec.mounts.slice(7);
    assert.deepEqual(user.map((m) => m.destination), ["/etc/resolv.conf", "/etc/hosts", "/data", "/run", "/data/sub"]);
    assert.deepEqual(user[2], { destination: "/data", type: "bind", source: "/vol/_data", options: ["rbind", "rprivate", "ro"] });
    assert.deepEqual(user[3]!.options, ["size=1m", "exec", "nosuid", "nodev"]);
    assert.deepEqual(user[4]!.options, ["rbind", "rprivate", "rw"]);
    assert.ok(spec.mounts.find((m) => m.destination === "/dev/shm")!.options!.includes("size=1024"));
  });

  it("capabilities override and validation", () => {
    const spec = buildOciSpec({ ...base, capabilities: ["chown", "CAP_KILL"] });
    assert.deepEqual(spec.process.capabilities?.effective, ["CAP_CHOWN", "CAP_KILL"]);
    assert.equal(normalizeCapability("net_admin"), "CAP_NET_ADMIN");
    assert.throws(() => normalizeCapability("rm -rf"), InvalidArgumentError);
    assert.throws(() => buildOciSpec({ ...base, args: [] }), InvalidArgumentError);
    assert.throws(() => buildOciSpec({ ...base, rootfs: "rel" }), InvalidArgumentError);
    assert.throws(() => buildOciSpec({ ...base, cgroupsPath: "wharf:x:y" }), InvalidArgumentError);
    assert.throws(() => buildOciSpec({ ...base, mounts: [{ type: "bind", source: "rel", destination: "/x" }] }), InvalidArgumentError);
  });

  it("exec process keeps the container's security settings", () => {
    const spec = buildOciSpec(base);
    const p = buildExecProcess(spec.process, { args: ["id"], env: ["A=1"], user: { uid: 0, gid: 0, additionalGids: [] }, terminal: true });
    assert.deepEqual(p.args, ["id"]);
    assert.equal(p.terminal, true);
    assert.deepEqual(p.user, { uid: 0, gid: 0 });
    assert.deepEqual(p.capabilities, spec.process.capabilities);
    assert.equal(p.cwd, "/");
  });
});
