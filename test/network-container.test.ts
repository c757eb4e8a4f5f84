/**
 * The network layer under real containers (runc via conmon): a published
 * port reaches a container's httpd from 127.0.0.1, and a second container
 * on the same user-defined network finds the first by name through its
 * /etc/resolv.conf and the embedded DNS server.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeFixture, logText, type Fixture } from "./runtime-helpers.js";
import { makeNetFixture, httpGet, newId, type NetFixture } from "./network-fixture.js";
import type { LinuxNetworkManager } from "../src/network/index.js";

let rt: Fixture;
let fx: NetFixture;
let m: LinuxNetworkManager;
const attached: string[] = [];

before(async () => {
  rt = await makeFixture();
  fx = await makeNetFixture();
  m = await fx.open();
  await mkdir(join(rt.rootfs, "www"), { recursive: true });
  await writeFile(join(rt.rootfs, "www/index.html"), "registry says hi");
});

after(async () => {
  await rt.cleanup();
  for (const id of attached) await m.detach(id).catch(() => {});
  await m.remove(`reg-${fx.tag}`).catch(() => {});
  await fx.cleanup();
});

async function until<T>(fn: () => Promise<T>, tries = 100): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

test("run -d -p: a containerized httpd answers on 127.0.0.1:<hostPort>; a peer resolves it by name", async () => {
  const net = await m.create({ Name: `reg-${fx.tag}` });
  // Sandboxes are keyed by container ID; the runtime fixture picks its own, so any unique ID does here.
  const serverId = newId();
  attached.push(serverId);
  const s = await m.attach(serverId, {
    name: "registry",
    hostname: "registry",
    networks: [{ network: net.Name }],
    ports: [{ containerPort: 5000, protocol: "tcp", hostIp: "", hostPort: 0 }],
  });
  const server = await rt.create(["httpd", "-f", "-p", "5000", "-h", "/www"], { network: { kind: "path", path: s.netnsPath! }, etcFiles: s.etcFiles, hostname: "registry" });
  await rt.runtime.start(server.id);
  assert.equal(await until(() => httpGet("127.0.0.1", s.ports[0]!.hostPort)), "registry says hi");

  const clientId = newId();
  attached.push(clientId);
  const c = await m.attach(clientId, { name: "client", hostname: "client", networks: [{ network: net.Name }] });
  const client = await rt.create(["sh", "-c", "cat /etc/resolv.conf; nslookup registry; wget -q -O - http://" + s.endpoints[0]!.ip + ":5000/"], {
    network: { kind: "path", path: c.netnsPath! },
    etcFiles: c.etcFiles,
    hostname: "client",
  });
  await rt.runtime.start(client.id);
  assert.equal(await rt.runtime.waitExit(client.id), 0);
  const out = await logText(client.logPath);
  assert.match(out, new RegExp(`nameserver ${net.IPAM.Config[0]!.Gateway.replace(/\./g, "\\.")}`));
  assert.match(out, new RegExp(`Address:\\s*${s.endpoints[0]!.ip.replace(/\./g, "\\.")}`));
  assert.match(out, /registry says hi/);
  await rt.runtime.delete(server.id, { force: true });
});
