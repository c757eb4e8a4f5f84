import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { request } from "node:http";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { TestDaemon, runCommand, wharfBin } from "./support/daemon.js";

/** The Docker Engine API edge: socket, versions, errors, events, lifecycle verbs. */
const run = promisify(execFile);
let daemon: TestDaemon;
const p = `wharftest-${randomBytes(3).toString("hex")}`;

before(async () => {
  daemon = await TestDaemon.start();
});
after(async () => {
  await daemon?.stop();
});

function call(method: string, path: string, body?: string): Promise<{ status: number; json: unknown; text: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: daemon.socket, method, path, headers: body ? { "Content-Type": "application/json" } : {} }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json, text, headers: res.headers });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

test("the socket is root:wharf 0660", async () => {
  const st = await stat(daemon.socket);
  assert.equal(st.mode & 0o777, 0o660);
  assert.equal(st.uid, 0);
  const { stdout } = await run("getent", ["group", "wharf"]);
  assert.equal(st.gid, Number(stdout.split(":")[2]));
});

test("API versions: prefixed and unprefixed paths, negotiation headers, too-new clients refused", async () => {
  const ping = await call("GET", "/_ping");
  assert.equal(ping.text, "OK");
  assert.equal(ping.headers["api-version"], "1.45");
  assert.equal((await call("GET", "/v1.41/containers/json")).status, 200);
  assert.equal((await call("GET", "/containers/json")).status, 200);
  const tooNew = await call("GET", "/v1.99/containers/json");
  assert.equal(tooNew.status, 400);
  assert.match((tooNew.json as { message: string }).message, /too new/);
});

test("bad input: JSON errors with Docker's status, nothing created", async () => {
  const before = (await call("GET", "/containers/json?all=1")).json as unknown[];
  const cases: Array<[string, string, string | undefined, number, RegExp]> = [
    ["POST", "/containers/create", "{not json", 400, /invalid JSON/],
    ["POST", "/containers/create", JSON.stringify({ Image: "busybox", Cmd: "not-an-array" }), 400, /Cmd/],
    ["POST", "/containers/create", JSON.stringify({ Image: "busybox", Env: [1, 2] }), 400, /Env/],
    ["POST", "/containers/create", JSON.stringify({ Image: "busybox", HostConfig: { RestartPolicy: { Name: "sometimes" } } }), 400, /restart policy/],
    ["POST", "/containers/create", JSON.stringify({ Image: "no-such-image-here" }), 404, /No such image/],
    ["POST", "/containers/create?name=bad%20name", JSON.stringify({ Image: "busybox" }), 400, /Invalid container name/],
    ["GET", "/containers/nosuch/json", undefined, 404, /No such container/],
    ["GET", "/images/nosuch:1/json", undefined, 404, /No such image/],
    ["GET", "/containers/json?filters=%7Bbad", undefined, 400, /invalid filter/],
    ["GET", "/no/such/route", undefined, 404, /page not found/],
  ];
  for (const [method, path, body, status, message] of cases) {
    const r = await call(method, path, body);
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.match((r.json as { message: string }).message, message, `${method} ${path}`);
  }
  assert.deepEqual((await call("GET", "/containers/json?all=1")).json, before);
});

test("events stream what happens, filtered", async () => {
  const events = call("GET", `/events?since=${Math.floor(Date.now() / 1000) - 1}&until=${Math.floor(Date.now() / 1000) + 4}&filters=${encodeURIComponent(JSON.stringify({ type: ["container"], container: [`${p}-ev`] }))}`);
  const r = await daemon.wharf(["run", "--name", `${p}-ev`, "busybox", "true"]);
  assert.equal(r.code, 0, r.stderr);
  await daemon.wharf(["rm", `${p}-ev`]);
  const lines = (await events).text.trim().split("\n").map((l) => JSON.parse(l) as { Action: string; Actor: { Attributes: { name: string } } });
  assert.deepEqual(lines.map((e) => e.Action), ["create", "attach", "start", "die", "destroy"].filter((a) => a !== "attach"));
  assert.ok(lines.every((e) => e.Actor.Attributes.name === `${p}-ev`));
});

test("pause, unpause, rename, top, restart, wait", async () => {
  const name = `${p}-life`;
  assert.equal((await daemon.wharf(["run", "-d", "--name", name, "busybox", "sleep", "60"])).code, 0);
  assert.equal((await daemon.wharf(["pause", name])).code, 0);
  assert.equal((await daemon.wharf(["inspect", "-f", "{{.State.Status}}", name])).stdout.trim(), "paused");
  const execPaused = await daemon.wharf(["exec", name, "true"]);
  assert.notEqual(execPaused.code, 0);
  assert.match(execPaused.stderr, /paused/);
  assert.equal((await daemon.wharf(["unpause", name])).code, 0);
  assert.equal((await daemon.wharf(["rename", name, `${name}2`])).code, 0);
  const top = await daemon.wharf(["top", `${name}2`]);
  assert.match(top.stdout, /sleep 60/);
  const pidBefore = (await daemon.wharf(["inspect", "-f", "{{.State.Pid}}", `${name}2`])).stdout.trim();
  assert.equal((await daemon.wharf(["restart", "-t", "0", `${name}2`])).code, 0);
  const pidAfter = (await daemon.wharf(["inspect", "-f", "{{.State.Pid}}", `${name}2`])).stdout.trim();
  assert.notEqual(pidAfter, pidBefore);
  const waiting = daemon.wharf(["wait", `${name}2`]);
  assert.equal((await daemon.wharf(["kill", "-s", "KILL", `${name}2`])).code, 0);
  assert.equal((await waiting).stdout.trim(), "137");
  assert.equal((await daemon.wharf(["rm", `${name}2`])).code, 0);
});

test("run -it: a real terminal, raw mode, the tty size, exit code", async () => {
  // `script` gives the CLI a pty of its own, as a user's terminal would.
  const r = await runCommand(
    "script",
    ["-qec", `stty cols 91 rows 17; node ${wharfBin} run -it --rm busybox sh -c 'tty; stty size; exit 4'`, "/dev/null"],
    daemon.env(),
    undefined,
    true,
  );
  assert.equal(r.code, 4, r.stdout + r.stderr);
  assert.match(r.stdout, /\/dev\/pts\/\d+/);
  assert.match(r.stdout, /17 91/);
});

test("docker CLI: exec -it, attach, cp, logs -f through the real client", async () => {
  const name = `${p}-dk`;
  assert.equal((await daemon.docker(["run", "-d", "--name", name, "busybox", "sh", "-c", "echo started; sleep 60"])).code, 0);
  const exec = await runCommand("script", ["-qec", `stty cols 80 rows 20; docker exec -it ${name} sh -c 'tty; stty size; exit 6'`, "/dev/null"], daemon.env(), undefined, true);
  assert.equal(exec.code, 6, exec.stdout + exec.stderr);
  assert.match(exec.stdout, /\/dev\/pts\/\d+/);
  assert.match(exec.stdout, /20 80/, "the exec tty has the client's size");
  const cp = await daemon.docker(["cp", `${name}:/etc/passwd`, "-"]);
  assert.equal(cp.code, 0, cp.stderr);
  assert.match(cp.stdout, /root:x:0:0/);
  const logs = await daemon.docker(["logs", name]);
  assert.equal(logs.stdout, "started\n");
  assert.equal((await daemon.docker(["rm", "-f", name])).code, 0);
});
