/**
 * Live restore: containers started by a daemon process that is then killed
 * with SIGKILL keep running, and a new ConmonRuntime on the same exec root
 * finds them, attaches, execs, waits and deletes.
 */
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mkdir } from "node:fs/promises";
import { makeFixture, collect, type Fixture } from "./runtime-helpers.js";
import { ConmonRuntime } from "../src/runtime/conmon-runtime.js";
import { readLogs } from "../src/runtime/logs.js";

const child = fileURLToPath(new URL("./runtime-child-daemon.js", import.meta.url));

describe("ConmonRuntime recovery after the daemon is killed", () => {
  let f: Fixture;
  let ids: { loop: string; reader: string; created: string };
  let childPid: number | undefined;

  before(async () => {
    f = await makeFixture();
    const logDir = join(f.dir, "logs");
    await mkdir(logDir, { recursive: true });
    const daemon = spawn(process.execPath, [child, join(f.dir, "run"), f.rootfs, f.cgroupParent, logDir], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    childPid = daemon.pid;
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      daemon.stdout.on("data", (b: Buffer) => {
        out += b.toString();
        if (out.includes("\n")) resolve(out.trim());
      });
      daemon.on("exit", (code) => reject(new Error(`child daemon exited early (${code})`)));
    });
    ids = JSON.parse(line) as typeof ids;
    for (const id of Object.values(ids)) f.ids.add(id);
    const exited = new Promise((r) => daemon.on("exit", r));
    daemon.kill("SIGKILL");
    await exited;
    childPid = undefined;
  });

  after(async () => {
    if (childPid !== undefined) process.kill(childPid, "SIGKILL");
    await f?.cleanup();
  });

  it("recover() lists the containers with their status", async () => {
    const runtime = new ConmonRuntime({ execRoot: join(f.dir, "run") });
    const found = await runtime.recover();
    const byId = new Map(found.map((c) => [c.id, c]));
    assert.equal(byId.get(ids.loop)?.status, "running");
    assert.equal(byId.get(ids.reader)?.status, "running");
    assert.equal(byId.get(ids.created)?.status, "created");
    assert.ok(byId.get(ids.loop)!.pid! > 0);
    assert.ok(byId.get(ids.loop)!.conmonPid! > 0);
    assert.equal(byId.get(ids.reader)!.options.openStdin, true);
    assert.equal(await runtime.isAlive(ids.loop), true);
  });

  it("attach, exec and wait work from the new instance", async () => {
    const runtime = new ConmonRuntime({ execRoot: join(f.dir, "run") });
    const session = await runtime.attach(ids.reader);
    const output = collect(session);
    const waiting = runtime.waitExit(ids.reader);
    await session.write("hello\n");
    assert.equal(await waiting, 3);
    assert.equal((await output).stdout, "got hello\n");

    const h = await runtime.exec(ids.loop, "e1", { args: ["hostname"], env: ["PATH=/bin"], user: { uid: 0, gid: 0, additionalGids: [] }, terminal: false }, { tty: false, openStdin: false });
    const execOut = collect(h.attach!);
    assert.equal(await h.exitCode, 0);
    assert.equal((await execOut).stdout, "recovered\n");

    const log = [];
    for await (const e of readLogs(join(f.dir, "logs", `${ids.loop}.log`), { tail: 1 })) log.push(e.data.toString());
    assert.deepEqual(log, ["started\n"]);
  });

  it("kill, waitExit and delete the adopted containers", async () => {
    const runtime = new ConmonRuntime({ execRoot: join(f.dir, "run") });
    const waiting = runtime.waitExit(ids.loop);
    await runtime.kill(ids.loop, "KILL");
    assert.equal(await waiting, 137);
    await runtime.start(ids.created);
    assert.equal(await runtime.waitExit(ids.created), 0);
    for (const id of Object.values(ids)) {
      await runtime.delete(id);
      assert.equal(await runtime.state(id), null);
    }
    assert.deepEqual(await runtime.recover(), []);
  });
});
