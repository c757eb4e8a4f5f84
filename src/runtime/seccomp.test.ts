import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultSeccomp, seccompFromDockerProfile } from "./seccomp.js";

const refused = (caps: string[]) => new Set(defaultSeccomp(caps, "x64").syscalls![0]!.names);

test("defaultSeccomp: Docker's refusals, lifted by the capability that gates each", () => {
  const plain = refused(["CAP_CHOWN"]);
  for (const name of ["mount", "keyctl", "reboot", "init_module", "settimeofday", "open_by_handle_at", "unshare", "setns"]) assert.ok(plain.has(name), name);
  assert.ok(!plain.has("ptrace"), "ptrace stays allowed (kernels from 4.8 on), as in Docker");
  const admin = refused(["CAP_SYS_ADMIN", "CAP_SYS_TIME"]);
  assert.ok(!admin.has("mount") && !admin.has("settimeofday") && admin.has("keyctl") && admin.has("reboot"));
  const f = defaultSeccomp([], "x64");
  assert.equal(f.defaultAction, "SCMP_ACT_ALLOW");
  assert.deepEqual(f.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]);
  assert.ok(f.syscalls!.some((s) => s.names.includes("clone") && s.args?.[0]?.op === "SCMP_CMP_MASKED_EQ"));
  assert.ok(f.syscalls!.some((s) => s.names.includes("clone3") && s.errnoRet === 38));
  assert.ok(!defaultSeccomp(["CAP_SYS_ADMIN"], "x64").syscalls!.some((s) => s.names.includes("clone3")));
});

test("seccompFromDockerProfile: includes/excludes by capability and architecture, archMap, old single names", () => {
  const profile = JSON.stringify({
    defaultAction: "SCMP_ACT_ERRNO",
    defaultErrnoRet: 1,
    archMap: [
      { architecture: "SCMP_ARCH_X86_64", subArchitectures: ["SCMP_ARCH_X86"] },
      { architecture: "SCMP_ARCH_AARCH64", subArchitectures: ["SCMP_ARCH_ARM"] },
    ],
    syscalls: [
      { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
      { names: ["mount"], action: "SCMP_ACT_ALLOW", includes: { caps: ["CAP_SYS_ADMIN"] } },
      { names: ["arch_prctl"], action: "SCMP_ACT_ALLOW", includes: { arches: ["amd64"] } },
      { names: ["sync_file_range2"], action: "SCMP_ACT_ALLOW", includes: { arches: ["arm64"] } },
      { names: ["chown"], action: "SCMP_ACT_ALLOW", excludes: { caps: ["CAP_CHOWN"] } },
      { name: "getpid", action: "SCMP_ACT_ALLOW" },
    ],
  });
  const names = (caps: string[]) => seccompFromDockerProfile(profile, caps, "x64").syscalls!.flatMap((s) => s.names);
  assert.deepEqual(names([]), ["read", "write", "arch_prctl", "chown", "getpid"]);
  assert.deepEqual(names(["CAP_SYS_ADMIN", "CAP_CHOWN"]), ["read", "write", "mount", "arch_prctl", "getpid"]);
  const f = seccompFromDockerProfile(profile, [], "x64");
  assert.deepEqual(f.architectures, ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]);
  assert.equal(f.defaultErrnoRet, 1);
  assert.throws(() => seccompFromDockerProfile("{not json", []), /decoding seccomp profile failed/);
  assert.throws(() => seccompFromDockerProfile("{}", []), /no defaultAction/);
});
