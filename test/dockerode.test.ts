import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { PassThrough } from "node:stream";
import Docker from "dockerode";
import { TestDaemon } from "./support/daemon.js";

/** dockerode (the npm client) driving a real wharf daemon. */
let daemon: TestDaemon;
let docker: Docker;
const prefix = `wharftest-${randomBytes(3).toString("hex")}`;

before(async () => {
  daemon = await TestDaemon.start();
  docker = new Docker({ socketPath: daemon.socket });
});
after(async () => {
  await daemon?.stop();
});

function collect(stream: NodeJS.ReadableStream, demux: boolean): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    if (demux) {
      const o = new PassThrough();
      const e = new PassThrough();
      o.on("data", (d: Buffer) => (out += d.toString()));
      e.on("data", (d: Buffer) => (err += d.toString()));
      docker.modem.demuxStream(stream, o, e);
    } else {
      stream.on("data", (d: Buffer) => (out += d.toString()));
    }
    stream.on("end", () => resolve({ out, err }));
    stream.on("error", reject);
  });
}

test("ping, version, info", async () => {
  assert.equal(String(await docker.ping()), "OK");
  const v = await docker.version();
  assert.ok(v.ApiVersion);
  const info = await docker.info();
  assert.ok(info.Images >= 1);
});

test("create, attach, start, wait, logs, inspect, remove", async () => {
  const c = await docker.createContainer({ Image: "busybox", name: `${prefix}-life`, Cmd: ["sh", "-c", "echo out; echo err >&2; exit 4"], AttachStdout: true, AttachStderr: true });
  const stream = await c.attach({ stream: true, stdout: true, stderr: true, hijack: true });
  const output = collect(stream, true);
  const waited = c.wait({ condition: "next-exit" });
  await c.start();
  assert.equal((await waited).StatusCode, 4);
  const { out, err } = await output;
  assert.equal(out, "out\n");
  assert.equal(err, "err\n");
  const logs = (await c.logs({ stdout: true, stderr: true })) as unknown as Buffer;
  assert.match(logs.toString(), /out/);
  const info = await c.inspect();
  assert.equal(info.State.Status, "exited");
  assert.equal(info.State.ExitCode, 4);
  assert.equal(info.Name, `/${prefix}-life`);
  await c.remove();
  await assert.rejects(c.inspect(), (e: { statusCode?: number }) => e.statusCode === 404);
});

test("stdin through a hijacked attach", async () => {
  const c = await docker.createContainer({ Image: "busybox", Cmd: ["sh", "-c", "read line; echo got:$line"], OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true });
  const stream = await c.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true });
  const output = collect(stream, true);
  await c.start();
  stream.write("hello\n");
  assert.equal((await c.wait()).StatusCode, 0);
  assert.equal((await output).out, "got:hello\n");
  await c.remove({ force: true });
});

test("exec with and without a tty", async () => {
  const c = await docker.createContainer({ Image: "busybox", name: `${prefix}-exec`, Cmd: ["sleep", "60"] });
  await c.start();
  try {
    const e = await c.exec({ Cmd: ["sh", "-c", "echo plain; exit 5"], AttachStdout: true, AttachStderr: true });
    const s = await e.start({ hijack: true, stdin: false });
    assert.equal((await collect(s, true)).out, "plain\n");
    const ins = await e.inspect();
    assert.equal(ins.ExitCode, 5);
    assert.equal(ins.Running, false);

    const t = await c.exec({ Cmd: ["sh", "-c", "tty; echo tty-out"], AttachStdout: true, Tty: true });
    const ts = await t.start({ hijack: true, stdin: false, Tty: true });
    const { out } = await collect(ts, false);
    assert.match(out, /\/dev\/pts\/\d+\r?\ntty-out/);

    const top = await c.top();
    assert.ok(top.Processes.some((row: string[]) => row.join(" ").includes("sleep 60")));
  } finally {
    await c.remove({ force: true });
  }
});

test("archive: put a file in, read it back", async () => {
  const c = await docker.createContainer({ Image: "busybox", Cmd: ["sleep", "60"] });
  await c.start();
  try {
    const tarStream = (await import("tar-stream")).default.pack();
    tarStream.entry({ name: "greeting.txt" }, "hi from the host\n");
    tarStream.finalize();
    await c.putArchive(tarStream as unknown as NodeJS.ReadableStream, { path: "/tmp" });
    const exec = await c.exec({ Cmd: ["cat", "/tmp/greeting.txt"], AttachStdout: true });
    assert.equal((await collect(await exec.start({ hijack: true }), true)).out, "hi from the host\n");
    const archive = await c.getArchive({ path: "/tmp/greeting.txt" });
    const extract = (await import("tar-stream")).default.extract();
    const names: string[] = [];
    extract.on("entry", (h, s, next) => {
      names.push(h.name);
      s.resume();
      s.on("end", next);
    });
    archive.pipe(extract);
    await new Promise<void>((r) => extract.on("finish", () => r()));
    assert.deepEqual(names, ["greeting.txt"]);
  } finally {
    await c.remove({ force: true });
  }
});

test("errors are JSON with Docker's status codes", async () => {
  await assert.rejects(docker.getContainer("nosuch").inspect(), (e: { statusCode?: number; json?: { message?: string } }) => e.statusCode === 404 && /No such container/.test(e.json?.message ?? ""));
  await assert.rejects(docker.createContainer({ Image: "nosuch-image-xyz" }), (e: { statusCode?: number }) => e.statusCode === 404);
  const c = await docker.createContainer({ Image: "busybox", Cmd: ["sleep", "60"] });
  await c.start();
  try {
    await assert.rejects(c.remove(), (e: { statusCode?: number }) => e.statusCode === 409);
    await assert.rejects(c.start(), (e: { statusCode?: number }) => e.statusCode === 304);
  } finally {
    await c.remove({ force: true });
  }
});
