/**
 * ConmonRuntime against real runc + conmon, with a busybox root filesystem.
 * Every container, conmon, cgroup and temp dir is removed in `after`.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, readFile, readdir, writeFile, chmod } from "node:fs/promises";
import { join } from "node:path";
import { makeFixture, collect, logText, newId, type Fixture } from "./runtime-helpers.js";
import { readLogs } from "../src/runtime/logs.js";
import { isConmonFor } from "../src/runtime/process-check.js";
import { resolveUser } from "../src/runtime/user.js";
import { ProcessStartError } from "../src/runtime/process-start-error.js";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../src/lib/errors.js";
import type { AttachSession } from "../src/runtime/runtime.js";

const root = { uid: 0, gid: 0, additionalGids: [] };
const PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Resolve once `text` has appeared on the session's stdout. */
function waitForOutput(session: AttachSession, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const onData = (b: Buffer) => {
      seen += b.toString();
      if (seen.includes(text)) {
        session.stdout.off("data", onData);
        resolve(seen);
      }
    };
    session.stdout.on("data", onData);
    session.done.then(() => reject(new Error(`session ended before ${JSON.stringify(text)}; saw ${JSON.stringify(seen)}`)));
  });
}

/** Run a command to completion; returns its exit code and output (attached before start). */
async function runToEnd(f: Fixture, args: string[], extra: Parameters<Fixture["create"]>[1] = {}) {
  const { id, logPath } = await f.create(args, extra);
  const session = await f.runtime.attach(id);
  const output = collect(session);
  await f.runtime.start(id);
  const code = await f.runtime.waitExit(id);
  return { id, logPath, code, ...(await output) };
}

describe("ConmonRuntime (runc + conmon)", () => {
  let f: Fixture;
  before(async () => {
    f = await makeFixture();
  });
  after(async () => {
    await f?.cleanup();
  });

  it("runs echo: output in the log, exit code 0", async () => {
    const { id, logPath, code, stdout } = await runToEnd(f, ["echo", "hi"]);
    assert.equal(code, 0);
    assert.equal(stdout, "hi\n");
    assert.equal(await logText(logPath), "hi\n");
    const status = await f.runtime.exitStatus(id);
    assert.equal(status?.code, 0);
    assert.equal(status?.oomKilled, false);
    assert.ok(status!.finishedAt instanceof Date);
    assert.equal(await f.runtime.exitCode(id), 0);
  });

  it("reports the exit code", async () => {
    const { code } = await runToEnd(f, ["sh", "-c", "exit 7"]);
    assert.equal(code, 7);
  });

  it("attach before start catches every byte, stdout and stderr apart", async () => {
    const { code, stdout, stderr, logPath } = await runToEnd(f, ["sh", "-c", "seq 1 2000; echo oops >&2"]);
    assert.equal(code, 0);
    const expected = Array.from({ length: 2000 }, (_, i) => `${i + 1}\n`).join("");
    assert.equal(stdout, expected);
    assert.equal(stderr, "oops\n");
    const entries = [];
    for await (const e of readLogs(logPath)) entries.push(e);
    assert.equal(entries.length, 2001);
    assert.deepEqual(
      entries.filter((e) => e.stream === "stderr").map((e) => e.data.toString()),
      ["oops\n"],
    );
  });

  it("allows several attachers at once", async () => {
    const { id } = await f.create(["sh", "-c", "echo one; echo two"]);
    const a = collect(await f.runtime.attach(id));
    const b = collect(await f.runtime.attach(id));
    await f.runtime.start(id);
    assert.equal(await f.runtime.waitExit(id), 0);
    assert.equal((await a).stdout, "one\ntwo\n");
    assert.equal((await b).stdout, "one\ntwo\n");
  });

  it("pipes stdin; closeStdin gives the process EOF", async () => {
    const { id } = await f.create(["cat"], {}, { openStdin: true });
    const session = await f.runtime.attach(id);
    const output = collect(session);
    await f.runtime.start(id);
    await session.write("hello\n");
    await session.write(Buffer.alloc(20000, "x"));
    session.closeStdin();
    assert.equal(await f.runtime.waitExit(id), 0);
    const { stdout } = await output;
    assert.equal(stdout, "hello\n" + "x".repeat(20000));
  });

  it("tty mode: output through the pty, resize reaches it", async () => {
    const { id } = await f.create(["sh", "-c", "read line; stty size"], { terminal: true }, { tty: true, openStdin: true });
    const session = await f.runtime.attach(id);
    const output = collect(session);
    await f.runtime.start(id);
    await f.runtime.resize(id, { height: 33, width: 111 });
    await session.write("go\n");
    assert.equal(await f.runtime.waitExit(id), 0);
    const { stdout, stderr } = await output;
    assert.match(stdout, /33 111\r\n/);
    assert.equal(stderr, "");
  });

  it("rejects a bad terminal size", async () => {
    const { id } = await f.create(["true"]);
    await assert.rejects(f.runtime.resize(id, { height: -1, width: 10 }), InvalidArgumentError);
  });

  it("has its own hostname and runs as PID 1", async () => {
    const { stdout } = await runToEnd(f, ["sh", "-c", "hostname; echo $$"]);
    assert.equal(stdout, "testhost\n1\n");
  });

  it("has Docker's default capabilities and masked paths", async () => {
    const { stdout } = await runToEnd(f, ["sh", "-c", "grep CapEff /proc/self/status; wc -c < /proc/keys; touch /proc/sys/x 2>&1 || echo ro"]);
    // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
    assert.match(stdout, /CapEff:\s+00000000a80425fb/);
    assert.match(stdout, /^0$/m);
    assert.match(stdout, /ro$/m);
  });

  it("default network namespace has only lo, and it is up", async () => {
    const { stdout } = await runToEnd(f, ["ip", "-o", "link"]);
    const links = stdout.trim().split("\n");
    assert.equal(links.length, 1, stdout);
    assert.match(links[0]!, /^1: lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  it("--net host sees the host's interfaces", async () => {
    const { stdout } = await runToEnd(f, ["ls", "/sys/class/net"], { network: { kind: "host" } });
    const host = (await readdir("/sys/class/net")).sort();
    assert.deepEqual(stdout.trim().split(/\s+/).sort(), host);
  });

  it("runs as a resolved user with supplementary groups", async () => {
    const user = await resolveUser(f.rootfs, "app");
    assert.deepEqual(user, { uid: 1000, gid: 1000, additionalGids: [2000], home: "/home/app" });
    const { stdout } = await runToEnd(f, ["id"], { user });
    // busybox `id` lists getgroups(2) only: the supplementary groups.
    assert.match(stdout, /uid=1000\(app\) gid=1000\(app\) groups=2000\(extra\)/);
    await assert.rejects(resolveUser(f.rootfs, "nosuchuser"), {
      message: "unable to find user nosuchuser: no matching entries in passwd file",
    });
  });

  it("binds, read-only binds, tmpfs and a read-only rootfs", async () => {
    const rw = join(f.dir, "rw");
    const ro = join(f.dir, "ro");
    await mkdir(rw);
    await mkdir(ro);
    await writeFile(join(ro, "file"), "from host\n");
    const { stdout, code } = await runToEnd(
      f,
      ["sh", "-c", "echo written > /rw/out; cat /ro/file; touch /ro/x 2>/dev/null || echo ro-ok; touch /t/x && echo tmpfs-ok; touch /x 2>/dev/null || echo rootfs-ro"],
      {
        readonlyRootfs: true,
        mounts: [
          { type: "bind", source: rw, destination: "/rw" },
          { type: "volume", source: ro, destination: "/ro", readOnly: true },
          { type: "tmpfs", destination: "/t", options: ["size=1m"] },
        ],
      },
    );
    assert.equal(code, 0);
    assert.equal(stdout, "from host\nro-ok\ntmpfs-ok\nrootfs-ro\n");
    assert.equal(await readFile(join(rw, "out"), "utf8"), "written\n");
  });

  it("command not found is a ProcessStartError with 127, not executable 126", async () => {
    const notFound = await f.create(["no-such-command"]).catch((e: unknown) => e);
    assert.ok(notFound instanceof ProcessStartError, String(notFound));
    assert.equal(notFound.exitCode, 127);
    assert.match(notFound.message, /executable file not found/);

    await writeFile(join(f.rootfs, "bin/not-exec"), "#!/bin/sh\n");
    await chmod(join(f.rootfs, "bin/not-exec"), 0o644);
    const denied = await f.create(["/bin/not-exec"]).catch((e: unknown) => e);
    assert.ok(denied instanceof ProcessStartError, String(denied));
    assert.equal(denied.exitCode, 126);
    assert.match(denied.message, /permission denied/);
  });

  it("a failed create leaves nothing behind", async () => {
    const before = await readdir(join(f.dir, "run", "containers"));
    await assert.rejects(f.create(["no-such-command"]), ProcessStartError);
    assert.deepEqual(await readdir(join(f.dir, "run", "containers")), before);
  });

  it("kill with SIGTERM (handled) and SIGKILL", async () => {
    const { id } = await f.create(["sh", "-c", "trap 'exit 42' TERM; echo ready; while true; do sleep 0.1; done"]);
    const session = await f.runtime.attach(id);
    const ready = waitForOutput(session, "ready");
    await f.runtime.start(id);
    await ready;
    await f.runtime.kill(id, "SIGTERM");
    assert.equal(await f.runtime.waitExit(id), 42);
    session.close();

    const { id: id2 } = await f.create(["sleep", "1000"]);
    await f.runtime.start(id2);
    await f.runtime.kill(id2, "9");
    assert.equal(await f.runtime.waitExit(id2), 137);
    await assert.rejects(f.runtime.kill(id2, "KILL"), FailedPreconditionError);
    await assert.rejects(f.runtime.kill(id2, "NOPE"), InvalidArgumentError);
  });

  it("pause and resume", async () => {
    const { id } = await f.create(["sleep", "1000"]);
    await f.runtime.start(id);
    assert.equal((await f.runtime.state(id))?.status, "running");
    await f.runtime.pause(id);
    assert.equal((await f.runtime.state(id))?.status, "paused");
    await assert.rejects(f.runtime.pause(id), FailedPreconditionError);
    await f.runtime.resume(id);
    assert.equal((await f.runtime.state(id))?.status, "running");
    await f.runtime.kill(id);
    assert.equal(await f.runtime.waitExit(id), 137);
  });

  it("exec without a tty: streams apart, exit code, stdin", async () => {
    const { id } = await f.create(["sleep", "1000"]);
    await f.runtime.start(id);
    const h = await f.runtime.exec(
      id,
      "exec1",
      { args: ["sh", "-c", "echo out; echo err >&2; exit 3"], env: [PATH], user: root, terminal: false },
      { tty: false, openStdin: false },
    );
    assert.ok(h.pid > 0);
    const out = collect(h.attach!);
    assert.equal(await h.exitCode, 3);
    assert.deepEqual(await out, { stdout: "out\n", stderr: "err\n" });

    const cat = await f.runtime.exec(id, "exec2", { args: ["cat"], env: [PATH], user: root, terminal: false }, { tty: false, openStdin: true });
    const catOut = collect(cat.attach!);
    await cat.attach!.write("round trip\n");
    cat.attach!.closeStdin();
    assert.equal(await cat.exitCode, 0);
    assert.equal((await catOut).stdout, "round trip\n");

    // The same exec ID can be reused once the first has finished.
    const again = await f.runtime.exec(id, "exec1", { args: ["true"], env: [PATH], user: root, terminal: false }, { tty: false, openStdin: false, attach: false });
    assert.equal(again.attach, null);
    assert.equal(await again.exitCode, 0);
  });

  it("exec with a tty: resize and exit code", async () => {
    const { id } = await f.create(["sleep", "1000"]);
    await f.runtime.start(id);
    const h = await f.runtime.exec(
      id,
      "tty1",
      { args: ["sh", "-c", "read x; stty size; exit 5"], env: [PATH], user: root, terminal: true },
      { tty: true, openStdin: true },
    );
    const out = collect(h.attach!);
    await h.resize({ height: 20, width: 70 });
    await h.attach!.write("go\n");
    assert.equal(await h.exitCode, 5);
    assert.match((await out).stdout, /20 70\r\n/);
  });

  it("exec of a missing command is a ProcessStartError; exec needs a running container", async () => {
    const { id } = await f.create(["sleep", "1000"]);
    const input = { args: ["nope"], env: [PATH], user: root, terminal: false };
    await assert.rejects(f.runtime.exec(id, "x", input, { tty: false, openStdin: false }), FailedPreconditionError);
    await f.runtime.start(id);
    const err = await f.runtime.exec(id, "x", input, { tty: false, openStdin: false }).catch((e: unknown) => e);
    assert.ok(err instanceof ProcessStartError, String(err));
    assert.equal(err.exitCode, 127);
  });

  it("top lists the container's processes", async () => {
    const { id } = await f.create(["sh", "-c", "sleep 1000 & sleep 1001"]);
    await f.runtime.start(id);
    // Wait until both sleeps are there.
    let result = await f.runtime.top(id);
    for (let i = 0; i < 100 && result.Processes.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
      result = await f.runtime.top(id);
    }
    assert.deepEqual(result.Titles, ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
    const cmds = result.Processes.map((p) => p[7]);
    assert.ok(cmds.includes("sleep 1000"), String(cmds));
    assert.ok(cmds.includes("sleep 1001"), String(cmds));
    const custom = await f.runtime.top(id, "-o pid,comm");
    assert.deepEqual(custom.Titles, ["PID", "COMMAND"]);
  });

  it("log tail and since", async () => {
    const { logPath } = await runToEnd(f, ["sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; printf partial"]);
    const all = [];
    for await (const e of readLogs(logPath)) all.push(e);
    assert.deepEqual(
      all.map((e) => e.data.toString()),
      ["line1\n", "line2\n", "line3\n", "line4\n", "line5\n", "partial"],
    );
    const tail = [];
    for await (const e of readLogs(logPath, { tail: 2 })) tail.push(e.data.toString());
    assert.deepEqual(tail, ["line5\n", "partial"]);
    // Lines read in one go share a timestamp: `since` is inclusive.
    const t = all[2]!.unixNano;
    const since = `${t / 1_000_000_000n}.${(t % 1_000_000_000n).toString().padStart(9, "0")}`;
    const fromThird = [];
    for await (const e of readLogs(logPath, { since })) fromThird.push(e);
    assert.ok(fromThird.length >= 4 && fromThird.every((e) => e.unixNano >= t));
    assert.equal(fromThird.at(-1)!.data.toString(), "partial");
    const until = [];
    for await (const e of readLogs(logPath, { until: since })) until.push(e);
    assert.ok(until.length >= 3 && until.every((e) => e.unixNano <= t));
  });

  it("logs follow until the container exits", async () => {
    const { id, logPath } = await f.create(["sh", "-c", "echo a; read x; echo b"], {}, { openStdin: true });
    const session = await f.runtime.attach(id);
    await f.runtime.start(id);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(logPath, { follow: f.runtime.waitExit(id) })) {
        seen.push(e.data.toString());
        if (e.data.toString() === "a\n") await session.write("go\n");
      }
    })();
    await reading;
    assert.deepEqual(seen, ["a\n", "b\n"]);
    session.close();
  });

  it("state, delete and errors for unknown or duplicate IDs", async () => {
    const { id } = await f.create(["sleep", "1000"]);
    await assert.rejects(f.runtime.create(id, f.spec(["true"]), { tty: false, openStdin: false, logPath: null }), AlreadyExistsError);
    await f.runtime.start(id);
    assert.equal(await f.runtime.isAlive(id), true);
    assert.equal(await f.runtime.exitCode(id), null);
    await assert.rejects(f.runtime.delete(id), FailedPreconditionError);
    const conmonPid = await f.runtime.conmonPid(id);
    assert.ok(conmonPid);
    await f.runtime.delete(id, { force: true });
    await f.runtime.delete(id, { force: true }); // idempotent
    assert.equal(await f.runtime.state(id), null);
    assert.equal(await f.runtime.isAlive(id), false);
    assert.equal(await isConmonFor(conmonPid, id), false);

    const unknown = newId();
    assert.equal(await f.runtime.state(unknown), null);
    await assert.rejects(f.runtime.start(unknown), NotFoundError);
    await assert.rejects(f.runtime.attach(unknown), NotFoundError);
    await assert.rejects(f.runtime.waitExit(unknown), NotFoundError);
    await assert.rejects(f.runtime.exitStatus(unknown), NotFoundError);
    await f.runtime.delete(unknown);
    await assert.rejects(f.runtime.state("../etc"), InvalidArgumentError);
  });

  it("attach after exit fails with FailedPrecondition; waitExit can be aborted", async () => {
    const { id } = await runToEnd(f, ["true"]);
    await assert.rejects(f.runtime.attach(id), FailedPreconditionError);
    const { id: id2 } = await f.create(["sleep", "1000"]);
    await f.runtime.start(id2);
    const ac = new AbortController();
    const waiting = f.runtime.waitExit(id2, { signal: ac.signal });
    ac.abort(new Error("client went away"));
    await assert.rejects(waiting, /client went away/);
  });
});
