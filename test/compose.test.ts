import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { createServer } from "node:net";
import { join } from "node:path";
import { runCommand, TestDaemon } from "./support/daemon.js";

/**
 * docker-compose (v1 over docker-py, Debian's package) against wharf daemon:
 * a project network with DNS by service name, a published port on
 * 127.0.0.1, scale with a shared service alias, and `down` removing it all.
 */
let daemon: TestDaemon;
let dir: string;
const project = `wharftest${randomBytes(3).toString("hex")}`;

before(async () => {
  daemon = await TestDaemon.start();
  dir = await mkdtemp("/tmp/wharf-test-compose-");
});
after(async () => {
  await compose(["down", "-t", "0"]).catch(() => undefined);
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

function compose(args: string[]) {
  return runCommand("docker-compose", ["-p", project, "-f", join(dir, "docker-compose.yml"), ...args], { ...daemon.env(), COMPOSE_INTERACTIVE_NO_CLI: "1" });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path: "/index.html", timeout: 2000 }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

test("compose up: services reach each other by name; ports, scale and down work", async () => {
  const port = await freePort();
  const serve = (body: string) => `sh -c "mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p 80 -h /www"`;
  await writeFile(
    join(dir, "docker-compose.yml"),
    [
      `version: "3"`,
      `services:`,
      `  web:`,
      `    image: busybox`,
      `    command: ${serve("from-web")}`,
      `    ports: ["127.0.0.1:${port}:80"]`,
      `  worker:`,
      `    image: busybox`,
      `    command: ${serve("from-worker")}`,
      `  client:`,
      `    image: busybox`,
      `    command: sleep 300`,
      `    depends_on: [web, worker]`,
      ``,
    ].join("\n"),
  );
  const up = await compose(["up", "-d", "--scale", "worker=2"]);
  assert.equal(up.code, 0, up.stderr);
  let body = "";
  for (let i = 0; i < 50 && body === ""; i++) {
    body = await get(port).catch(() => "");
    if (body === "") await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(body, "from-web\n");

  const fetch = await compose(["exec", "-T", "client", "sh", "-c", "wget -qO- http://web/index.html; wget -qO- http://worker/index.html; nslookup worker | grep -c ^Address:"]);
  assert.equal(fetch.code, 0, fetch.stderr);
  const lines = fetch.stdout.trim().split("\n");
  assert.deepEqual(lines.slice(0, 2), ["from-web", "from-worker"]);
  assert.equal(lines[2], "3", "the DNS server's own address and one per worker replica");

  const ps = await compose(["ps"]);
  assert.match(ps.stdout, new RegExp(`127\\.0\\.0\\.1:${port}->80/tcp`));

  const down = await compose(["down", "-t", "0"]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal((await daemon.wharf(["ps", "-aq"])).stdout.trim(), "");
  const nets = await daemon.docker(["network", "ls", "--format", "{{.Name}}"]);
  assert.doesNotMatch(nets.stdout, new RegExp(project));
});

test("depends_on with condition service_healthy: compose waits for the health check, then starts the dependant", async () => {
  await writeFile(
    join(dir, "docker-compose.yml"),
    [
      `version: "2.1"`,
      `services:`,
      `  db:`,
      `    image: busybox`,
      `    command: sh -c "sleep 1; touch /tmp/ready; exec sleep 300"`,
      `    healthcheck:`,
      `      test: ["CMD", "test", "-f", "/tmp/ready"]`,
      `      interval: 200ms`,
      `      retries: 50`,
      `  app:`,
      `    image: busybox`,
      `    command: sleep 300`,
      `    depends_on:`,
      `      db:`,
      `        condition: service_healthy`,
      ``,
    ].join("\n"),
  );
  const up = await compose(["up", "-d"]);
  assert.equal(up.code, 0, up.stderr);
  const startedAt = async (c: string) => Date.parse((await daemon.docker(["inspect", "-f", "{{.State.StartedAt}}", `${project}_${c}_1`])).stdout.trim());
  assert.equal((await daemon.docker(["inspect", "-f", "{{.State.Health.Status}}", `${project}_db_1`])).stdout.trim(), "healthy");
  // db is ready only a second after it starts: compose held app back until the health check passed.
  const [db, app] = [await startedAt("db"), await startedAt("app")];
  assert.ok(app - db >= 1000, `app started ${app - db} ms after db`);
  const down = await compose(["down", "-t", "0"]);
  assert.equal(down.code, 0, down.stderr);
});
