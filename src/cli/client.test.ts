import assert from "node:assert/strict";
import { test } from "node:test";
import { ConflictError, NotFoundError, UnavailableError } from "../lib/errors.js";
import { buildQuery, daemonStatusOf, encodeFilters, EngineClient, parseHost } from "./client.js";
import { json, startFakeEngine } from "./testing/fake-engine.js";

test("negotiates min(server, 1.45) from /_ping and prefixes paths", async () => {
  for (const [server, want] of [["1.41", "1.41"], ["1.47", "1.45"], ["1.45", "1.45"]] as const) {
    const engine = await startFakeEngine({ "GET /containers/json": (_r, res) => json(res, 200, []) }, {}, server);
    const client = new EngineClient(engine.host);
    try {
      assert.deepEqual(await client.json("GET", "/containers/json"), []);
      assert.equal(await client.apiVersion(), want);
      assert.deepEqual(
        engine.requests.map((r) => [r.path, r.version]),
        [["/_ping", undefined], ["/containers/json", want]],
      );
    } finally {
      client.close();
      await engine.close();
    }
  }
});

test("a pinned API version skips the ping", async () => {
  const engine = await startFakeEngine({ "GET /info": (_r, res) => json(res, 200, { ID: "x" }) });
  const client = new EngineClient(engine.host, "1.43");
  try {
    await client.json("GET", "/info");
    assert.deepEqual(engine.requests.map((r) => `${r.version} ${r.path}`), ["1.43 /info"]);
  } finally {
    client.close();
    await engine.close();
  }
});

test("daemon errors become typed errors that keep the status and message", async () => {
  const engine = await startFakeEngine({
    "DELETE /containers/busy": (_r, res) => json(res, 409, { message: "container is running" }),
    "GET /containers/nope/json": (_r, res) => json(res, 404, { message: "No such container: nope" }),
    "POST /plain": (_r, res) => {
      res.writeHead(500, { "Content-Type": "text/plain" });
      res.end("plain failure\n");
    },
    "POST /containers/x/start": (_r, res) => {
      res.writeHead(304);
      res.end();
    },
  });
  const client = new EngineClient(engine.host);
  try {
    await assert.rejects(client.call("DELETE", "/containers/busy"), (e: unknown) => e instanceof ConflictError && daemonStatusOf(e) === 409 && e.message === "container is running");
    await assert.rejects(client.json("GET", "/containers/nope/json"), (e: unknown) => e instanceof NotFoundError && daemonStatusOf(e) === 404);
    await assert.rejects(client.call("POST", "/plain"), (e: unknown) => (e as Error).message === "plain failure" && daemonStatusOf(e) === 500);
    // 304 (already started) is not an error, as in the docker CLI.
    await client.call("POST", "/containers/x/start");
  } finally {
    client.close();
    await engine.close();
  }
});

test("an absent socket reads like docker's 'Cannot connect' message", async () => {
  const client = new EngineClient("unix:///tmp/wharf-test-cli-no-such-dir/none.sock");
  await assert.rejects(
    client.json("GET", "/info"),
    (e: unknown) =>
      e instanceof UnavailableError &&
      daemonStatusOf(e) === undefined &&
      e.message === "Cannot connect to the Wharf daemon at unix:///tmp/wharf-test-cli-no-such-dir/none.sock. Is the wharf daemon running?",
  );
});

test("hijack: 101 upgrade gives a duplex; half-close delivers EOF to the server", async () => {
  const engine = await startFakeEngine(
    {},
    {
      "POST /containers/c/attach": (_r, socket) => {
        const got: Buffer[] = [];
        socket.on("data", (d: Buffer) => got.push(d));
        socket.on("end", () => socket.end(`echo:${Buffer.concat(got).toString()}`));
      },
    },
  );
  const client = new EngineClient(engine.host);
  try {
    const conn = await client.hijack("/containers/c/attach", { query: { stream: true, stdin: true } });
    assert.equal(conn.contentType, "application/vnd.docker.multiplexed-stream");
    conn.socket.write("abc");
    conn.socket.end();
    const chunks: Buffer[] = [];
    for await (const c of conn.output) chunks.push(c as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), "echo:abc");
    assert.equal(engine.requests.at(-1)!.query.get("stdin"), "1");
    await assert.rejects(client.hijack("/containers/other/attach"), (e: unknown) => daemonStatusOf(e) === 404);
  } finally {
    client.close();
    await engine.close();
  }
});

test("hosts, queries and filters", () => {
  assert.deepEqual(parseHost("unix:///run/wharf/wharf.sock"), { socketPath: "/run/wharf/wharf.sock" });
  assert.deepEqual(parseHost("tcp://127.0.0.1:2375"), { host: "127.0.0.1", port: 2375 });
  assert.deepEqual(parseHost("tcp://[::1]:2376"), { host: "::1", port: 2376 });
  assert.throws(() => parseHost("ftp://x"), /unable to parse docker host/);
  assert.equal(buildQuery({ all: true, limit: 3, skip: undefined, names: ["a", "b"], no: false }), "?all=1&limit=3&names=a&names=b&no=0");
  assert.equal(encodeFilters({}), undefined);
  assert.equal(encodeFilters({ label: ["a=b", "c"], status: ["running"] }), '{"label":{"a=b":true,"c":true},"status":{"running":true}}');
});
