/**
 * Fixtures for the runtime integration suites: a busybox root filesystem,
 * a runtime on a private exec root, specs with a throwaway cgroup parent,
 * and a cleanup that removes every container, conmon, cgroup and temp dir.
 */
import { mkdtemp, mkdir, copyFile, symlink, writeFile, rm, readdir, rmdir } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ConmonRuntime } from "../src/runtime/conmon-runtime.js";
import { buildOciSpec } from "../src/runtime/oci-spec.js";
import type { ContainerSpecInput, CreateOptions, AttachSession } from "../src/runtime/runtime.js";
import type { OciSpec } from "../src/runtime/oci-types.js";

export const BUSYBOX = "/usr/bin/busybox";

export function newId(): string {
  return randomBytes(32).toString("hex");
}

/** A root filesystem with busybox-static and its applets, /etc/passwd and /etc/group. */
export async function makeRootfs(dir: string): Promise<string> {
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "root", "home/app", "var"]) {
    await mkdir(join(rootfs, d), { recursive: true });
  }
  await copyFile(BUSYBOX, join(rootfs, "bin/busybox"));
  execFileSync("chmod", ["755", join(rootfs, "bin/busybox")]);
  const applets = execFileSync(BUSYBOX, ["--list"], { encoding: "utf8" }).split("\n").filter((a) => a && a !== "busybox");
  for (const a of applets) await symlink("busybox", join(rootfs, "bin", a));
  await writeFile(
    join(rootfs, "etc/passwd"),
    "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  );
  await writeFile(join(rootfs, "etc/group"), "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n");
  return rootfs;
}

export interface Fixture {
  dir: string;
  rootfs: string;
  runtime: ConmonRuntime;
  cgroupParent: string;
  ids: Set<string>;
  spec(args: string[], extra?: Partial<ContainerSpecInput>): OciSpec;
  create(args: string[], extra?: Partial<ContainerSpecInput>, options?: Partial<CreateOptions>): Promise<{ id: string; logPath: string }>;
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = await mkdtemp("/tmp/wharf-test-");
  const rootfs = await makeRootfs(dir);
  const runtime = new ConmonRuntime({ execRoot: join(dir, "run") });
  const cgroupParent = `wharf-test-${randomBytes(4).toString("hex")}`;
  const ids = new Set<string>();
  const f: Fixture = {
    dir,
    rootfs,
    runtime,
    cgroupParent,
    ids,
    spec(args, extra = {}) {
      return buildOciSpec({
        rootfs,
        args,
        env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        user: { uid: 0, gid: 0, additionalGids: [] },
        hostname: "testhost",
        terminal: false,
        network: { kind: "new" },
        cgroupsPath: `/${cgroupParent}/x`,
        ...extra,
      });
    },
    async create(args, extra = {}, options = {}) {
      const id = newId();
      const logPath = join(dir, "logs", `${id}.log`);
      const spec = f.spec(args, { cgroupsPath: `/${cgroupParent}/${id}`, ...extra });
      ids.add(id);
      await runtime.create(id, spec, { tty: spec.process.terminal ?? false, openStdin: false, logPath, ...options });
      return { id, logPath };
    },
    async cleanup() {
      // Also whatever a test did not get to record (e.g. a child daemon's).
      const onDisk = await readdir(join(dir, "run", "containers")).catch(() => [] as string[]);
      for (const id of new Set([...ids, ...onDisk])) await runtime.delete(id, { force: true }).catch(() => undefined);
      await removeCgroupParent(cgroupParent);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return f;
}

/** rmdir the test's cgroup parent in every hierarchy (runc removes the per-container ones). */
export async function removeCgroupParent(name: string): Promise<void> {
  let hierarchies: string[] = [];
  try {
    hierarchies = await readdir("/sys/fs/cgroup");
  } catch {
    return;
  }
  for (const h of hierarchies) {
    const parent = join("/sys/fs/cgroup", h, name);
    let children: string[] = [];
    try {
      children = (await readdir(parent, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const c of children) await rmdir(join(parent, c)).catch(() => undefined);
    await rmdir(parent).catch(() => undefined);
  }
}

/** Collect an attach session's output until it ends. */
export function collect(session: AttachSession): Promise<{ stdout: string; stderr: string }> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  session.stdout.on("data", (b: Buffer) => out.push(b));
  session.stderr.on("data", (b: Buffer) => err.push(b));
  return session.done.then(
    () =>
      new Promise((resolve) =>
        setImmediate(() => resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() })),
      ),
  );
}

/** Read a whole log as text per stream. */
export async function logText(logPath: string): Promise<string> {
  const { readLogs } = await import("../src/runtime/logs.js");
  let s = "";
  for await (const e of readLogs(logPath)) s += e.data.toString();
  return s;
}
