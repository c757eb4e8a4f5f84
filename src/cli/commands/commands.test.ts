/**
 * Verb actions against an in-process engine on a real unix socket: the API
 * call sequence each verb makes and what it prints.
 */
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { PassThrough, type Duplex } from "node:stream";
import { test } from "node:test";
import { EngineClient } from "../client.js";
import { ExitCode } from "../cli-errors.js";
import { reportError } from "../main.js";
import { encodeFrame } from "../stdcopy.js";
import { json, startFakeEngine, type Handler, type UpgradeHandler } from "../testing/fake-engine.js";
import { Capture, testIo } from "../testing/test-io.js";
import * as exec from "./exec.js";
import * as images from "./images.js";
import * as logs from "./logs.js";
import * as ps from "./ps.js";
import * as run from "./run.js";
import * as rm from "./rm.js";

async function withEngine(
  routes: Record<string, Handler>,
  upgrades: Record<string, UpgradeHandler>,
  fn: (client: EngineClient, requests: () => string[]) => Promise<void>,
): Promise<void> {
  const engine = await startFakeEngine(routes, upgrades);
  const client = new EngineClient(engine.host);
  try {
    await fn(client, () => engine.requests.filter((r) => r.path !== "/_ping").map((r) => `${r.method} ${r.path}`));
  } finally {
    client.close();
    await engine.close();
  }
}

/** A container that, once started, prints to stdout/stderr on its attach stream and exits with `code`. */
function containerRoutes(code: number, echoStdin = false) {
  let attached: Duplex | undefined;
  let waiter: ServerResponse | undefined;
  const exit = () => {
    waiter?.end(JSON.stringify({ StatusCode: code, Error: null }));
  };
  const routes: Record<string, Handler> = {
    "POST /containers/create": (r, res) => {
      const body = JSON.parse(r.body) as { Image: string };
      if (body.Image === "nosuch") return json(res, 404, { message: "No such image: nosuch:latest" });
      json(res, 201, { Id: "c0ffee", Warnings: [] });
    },
    "POST /containers/c0ffee/wait": (_r, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      waiter = res;
    },
    "POST /containers/c0ffee/start": (_r, res) => {
      res.writeHead(204);
      res.end();
      if (echoStdin) return;
      attached?.write(encodeFrame(1, "out\n"));
      attached?.write(encodeFrame(2, "err\n"));
      attached?.end();
      exit();
    },
  };
  const upgrades: Record<string, UpgradeHandler> = {
    "POST /containers/c0ffee/attach": (_r, socket) => {
      attached = socket;
      if (echoStdin) {
        socket.on("data", (d: Buffer) => socket.write(encodeFrame(1, d)));
        socket.on("end", () => {
          socket.end();
          exit();
        });
      }
    },
  };
  return { routes, upgrades };
}

test("run: create → attach → wait → start, demuxed output, container's exit code", async () => {
  const { routes, upgrades } = containerRoutes(3);
  await withEngine(routes, upgrades, async (client, requests) => {
    const io = testIo(client);
    const code = await run.execute(["--name", "t", "busybox", "sh", "-c", "exit 3"], io);
    assert.equal(code, 3);
    assert.equal(io.stdout.text, "out\n");
    assert.equal(io.stderr.text, "err\n");
    assert.deepEqual(requests(), [
      "POST /containers/create",
      "POST /containers/c0ffee/attach",
      "POST /containers/c0ffee/wait",
      "POST /containers/c0ffee/start",
    ]);
  });
});

test("run -i: piped stdin reaches the container and its EOF ends the run", async () => {
  const { routes, upgrades } = containerRoutes(0, true);
  await withEngine(routes, upgrades, async (client) => {
    const stdin = new PassThrough();
    const io = { ...testIo(client), stdin };
    const done = run.execute(["-i", "busybox", "cat"], io);
    stdin.end("piped\n");
    assert.equal(await done, 0);
    assert.equal(io.stdout.text, "piped\n");
  });
});

test("run -d prints the full ID without attaching", async () => {
  const { routes, upgrades } = containerRoutes(0);
  await withEngine(routes, upgrades, async (client, requests) => {
    const io = testIo(client);
    assert.equal(await run.execute(["-d", "busybox", "sleep", "1"], io), 0);
    assert.equal(io.stdout.text, "c0ffee\n");
    assert.deepEqual(requests(), ["POST /containers/create", "POST /containers/c0ffee/start"]);
  });
});

test("run with a missing image that cannot be pulled: docker's message, exit 125", async () => {
  const { routes, upgrades } = containerRoutes(0);
  routes["POST /images/create"] = (_r, res) => json(res, 404, { message: "pull access denied for nosuch, repository does not exist or may require 'docker login'" });
  await withEngine(routes, upgrades, async (client, requests) => {
    const io = testIo(client);
    const err = await run.execute(["nosuch"], io).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.equal(io.stderr.text, "Unable to find image 'nosuch:latest' locally\n");
    assert.deepEqual(requests(), ["POST /containers/create", "POST /images/create"]);
    const out = new Capture();
    assert.equal(reportError(err, "run", out, false), 125);
    assert.equal(out.text, "wharf: Error response from daemon: pull access denied for nosuch, repository does not exist or may require 'docker login'.\nSee 'wharf run --help'.\n");
  });
});

test("run with a missing image pulls it (progress on stderr), then creates again", async () => {
  const { routes, upgrades } = containerRoutes(0);
  let pulled = false;
  const create = routes["POST /containers/create"]!;
  routes["POST /containers/create"] = (r, res) => (pulled ? json(res, 201, { Id: "c0ffee", Warnings: [] }) : create(r, res));
  routes["POST /images/create"] = (r, res) => {
    assert.equal(r.query.get("fromImage"), "nosuch");
    assert.equal(r.query.get("tag"), "latest");
    assert.ok(r.headers["x-registry-auth"], "the docker CLI always sends X-Registry-Auth");
    pulled = true;
    res.writeHead(200, { "Content-Type": "application/json" });
    for (const m of [
      { status: "Pulling from library/nosuch", id: "latest" },
      { status: "Pulling fs layer", progressDetail: {}, id: "0123456789ab" },
      { status: "Downloading", progressDetail: { current: 5, total: 10 }, progress: "[=====>  ] 5B/10B", id: "0123456789ab" },
      { status: "Pull complete", progressDetail: {}, id: "0123456789ab" },
      { status: "Digest: sha256:" + "a".repeat(64) },
      { status: "Status: Downloaded newer image for nosuch:latest" },
    ]) res.write(JSON.stringify(m) + "\n");
    res.end();
  };
  await withEngine(routes, upgrades, async (client, requests) => {
    const io = testIo(client);
    assert.equal(await run.execute(["-d", "nosuch"], io), 0);
    assert.equal(
      io.stderr.text,
      "Unable to find image 'nosuch:latest' locally\nlatest: Pulling from library/nosuch\n0123456789ab: Pulling fs layer\n0123456789ab: Pull complete\n" +
        `Digest: sha256:${"a".repeat(64)}\nStatus: Downloaded newer image for nosuch:latest\n`,
    );
    assert.equal(io.stdout.text, "c0ffee\n");
    assert.deepEqual(requests(), ["POST /containers/create", "POST /images/create", "POST /containers/create", "POST /containers/c0ffee/start"]);
  });
});

test("run: start failures map to 127 / 126 / 125", async () => {
  for (const [message, want] of [
    ['exec: "nosuchcmd": executable file not found in $PATH: unknown', 127],
    ['exec: "/etc": permission denied: unknown', 126],
    ["cgroup trouble", 125],
  ] as const) {
    const { routes, upgrades } = containerRoutes(0);
    routes["POST /containers/c0ffee/start"] = (_r, res) => json(res, 400, { message });
    await withEngine(routes, upgrades, async (client) => {
      const io = testIo(client);
      const err = await run.execute(["busybox", "x"], io).catch((e: unknown) => e);
      assert.ok(err instanceof ExitCode);
      assert.equal(err.code, want);
      assert.match(err.message, /^wharf: Error response from daemon: .*\.\nSee 'wharf run --help'\.$/);
    });
  }
});

test("exec: create, hijacked start, exit code from exec inspect", async () => {
  await withEngine(
    {
      "POST /containers/web/exec": (r, res) => {
        const body = JSON.parse(r.body) as { Cmd: string[]; Env: string[]; AttachStdin: boolean };
        assert.deepEqual(body.Cmd, ["sh", "-c", "exit 5"]);
        assert.deepEqual(body.Env, ["A=1"]);
        assert.equal(body.AttachStdin, false);
        json(res, 201, { Id: "e1" });
      },
      "GET /exec/e1/json": (_r, res) => json(res, 200, { ExitCode: 5, Running: false }),
    },
    {
      "POST /exec/e1/start": (_r, socket) => {
        socket.end(encodeFrame(1, "in-exec\n"));
      },
    },
    async (client) => {
      const io = testIo(client);
      assert.equal(await exec.execute(["-e", "A=1", "web", "sh", "-c", "exit 5"], io), 5);
      assert.equal(io.stdout.text, "in-exec\n");
    },
  );
});

test("ps: query parameters and docker's table", async () => {
  const now = Date.now();
  await withEngine(
    {
      "GET /containers/json": (r, res) => {
        assert.equal(r.query.get("all"), "1");
        assert.equal(r.query.get("filters"), '{"status":{"exited":true}}');
        json(res, 200, [
          {
            Id: "74e2dfcfb7351afcd4009587e8e1ba6d7c08318d",
            Names: ["/web"],
            Image: "busybox",
            Command: "sleep 1000",
            Created: Math.floor(now / 1000) - 3,
            Ports: [],
            State: "exited",
            Status: "Exited (0) 2 seconds ago",
          },
        ]);
      },
    },
    {},
    async (client) => {
      const io = testIo(client);
      await ps.execute(["-a", "--filter", "status=exited"], io);
      const [header, row] = io.stdout.text.split("\n");
      assert.equal(header, "CONTAINER ID   IMAGE     COMMAND        CREATED         STATUS                     PORTS     NAMES");
      assert.match(row!, /^74e2dfcfb735   busybox   "sleep 1000"   \d seconds ago   Exited \(0\) 2 seconds ago             web$/);
      const q = testIo(client);
      await ps.execute(["-aq", "-f", "status=exited"], q);
      assert.equal(q.stdout.text, "74e2dfcfb735\n");
    },
  );
});

test("ps rejects bad flags with usage errors", () => {
  const io = { stdout: new Capture() };
  assert.throws(() => ps.parsePs(["-n", "many"], io), /invalid argument "many" for "-n, --last" flag/);
  assert.throws(() => ps.parsePs(["--filter", "nokey"], io), /bad format of filter/);
  assert.throws(() => ps.parsePs(["extra"], io), /"wharf ps" accepts no arguments\./);
  assert.equal(ps.parsePs(["-l"], io).last, 1);
  assert.equal(ps.parsePs(["--format", "{{.Names}}"], io).format, "{{.Names}}");
});

test("images -q lists each image once", async () => {
  await withEngine(
    {
      "GET /images/json": (_r, res) =>
        json(res, 200, [{ Id: "sha256:7a0f870467f0586b8e1b", RepoTags: ["a:1", "b:2"], Created: 0, Size: 1 }]),
    },
    {},
    async (client) => {
      const io = testIo(client);
      await images.execute(["-q"], io);
      assert.equal(io.stdout.text, "7a0f870467f0\n");
    },
  );
});

test("logs: demuxes when the container has no tty, raw copy with a tty", async () => {
  for (const tty of [false, true]) {
    await withEngine(
      {
        "GET /containers/web/json": (_r, res) => json(res, 200, { Id: "web", Config: { Tty: tty, OpenStdin: false }, State: {}, HostConfig: {} }),
        "GET /containers/web/logs": (r, res) => {
          assert.equal(r.query.get("tail"), "2");
          assert.equal(r.query.get("timestamps"), "1");
          res.writeHead(200);
          res.end(tty ? "raw line\n" : Buffer.concat([encodeFrame(1, "o\n"), encodeFrame(2, "e\n")]));
        },
      },
      {},
      async (client) => {
        const io = testIo(client);
        await logs.execute(["--tail", "2", "-t", "web"], io);
        if (tty) assert.equal(io.stdout.text, "raw line\n");
        else {
          assert.equal(io.stdout.text, "o\n");
          assert.equal(io.stderr.text, "e\n");
        }
      },
    );
  }
});

test("rm: per-target errors, exit 1, the others still removed", async () => {
  await withEngine(
    {
      "DELETE /containers/a": (r, res) => {
        assert.equal(r.query.get("force"), "1");
        res.writeHead(204);
        res.end();
      },
      "DELETE /containers/nosuch": (_r, res) => json(res, 404, { message: "No such container: nosuch" }),
    },
    {},
    async (client) => {
      const io = testIo(client);
      assert.equal(await rm.execute(["-f", "nosuch", "a"], io), 1);
      assert.equal(io.stdout.text, "a\n");
      assert.equal(io.stderr.text, "Error response from daemon: No such container: nosuch\n");
    },
  );
});
