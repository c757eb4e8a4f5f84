/**
 * User-defined networks: name resolution through the embedded DNS server,
 * isolation from other networks, connect/disconnect on a live sandbox.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import * as dnsPacket from "dns-packet";
import { makeNetFixture, newId, runIn, wgetFrom, httpGet, iptablesLines, linkNames, BUSYBOX, type NetFixture } from "./network-fixture.js";
import type { LinuxNetworkManager, Network, Sandbox } from "../src/network/index.js";
import { ConflictError, NotFoundError } from "../src/lib/errors.js";

let fx: NetFixture;
let m: LinuxNetworkManager;
let net: Network;
let gw: string;
let upstream: ReturnType<typeof createSocket>;
let upstreamTcp: Server;
const ids: string[] = [];

/** A fake upstream resolver on loopback (UDP and TCP, same port): `*.invalid` is 192.0.2.123, anything else NXDOMAIN. */
async function startUpstream(): Promise<number> {
  const answer = (msg: Buffer) => {
    const q = dnsPacket.decode(msg);
    const known = (q.questions ?? []).filter((x) => x.name.endsWith(".invalid"));
    return dnsPacket.encode({
      type: "response",
      id: q.id ?? 0,
      flags: dnsPacket.RECURSION_AVAILABLE | (known.length ? 0 : 3),
      questions: q.questions ?? [],
      answers: known.filter((x) => x.type === "A").map((x) => ({ type: "A" as const, name: x.name, ttl: 60, data: "192.0.2.123" })),
    });
  };
  upstream = createSocket("udp4");
  upstream.on("message", (msg, rinfo) => upstream.send(answer(msg), rinfo.port, rinfo.address));
  await new Promise<void>((r) => upstream.bind(0, "127.0.0.1", () => r()));
  upstreamTcp = createServer((s) => {
    s.on("error", () => {});
    s.once("data", (buf: Buffer) => {
      const reply = answer(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      const len = Buffer.alloc(2);
      len.writeUInt16BE(reply.length);
      s.end(Buffer.concat([len, reply]));
    });
  });
  await new Promise<void>((r) => upstreamTcp.listen(upstream.address().port, "127.0.0.1", () => r()));
  return upstream.address().port;
}

before(async () => {
  fx = await makeNetFixture();
  const port = await startUpstream();
  m = await fx.open({ dnsUpstreams: [`127.0.0.1:${port}`] });
  net = await m.create({ Name: `app-${fx.tag}` });
  gw = net.IPAM.Config[0]!.Gateway;
});

after(async () => {
  for (const id of ids) await m.detach(id).catch(() => {});
  await m.remove(net.Id).catch(() => {});
  upstream.close();
  upstreamTcp.close();
  await fx.cleanup();
  assert.deepEqual(iptablesLines(fx.opts.chainPrefix!), []);
  assert.equal(linkNames().some((l) => l.startsWith(`wt${fx.tag}`) || l === net.bridgeName), false);
});

async function attach(name: string, extra: Partial<Parameters<LinuxNetworkManager["attach"]>[1]> = {}): Promise<Sandbox> {
  const id = newId();
  ids.push(id);
  return m.attach(id, { name, hostname: id.slice(0, 12), networks: [{ network: net.Name }], ...extra });
}

/** `busybox nslookup name server` from inside a sandbox → the addresses it printed (server's own lines dropped). */
async function nslookup(netnsPath: string, name: string, server = gw): Promise<string[]> {
  const out = await runIn(netnsPath, ["timeout", "5", BUSYBOX, "nslookup", name, server]);
  if (out === null) return [];
  const answer = out.split(/\n\s*\n/).slice(1).join("\n");
  return [...answer.matchAll(/Address(?: \d+)?:\s*([\d.]+)/g)].map((x) => x[1]!);
}

function queryUdp(name: string, type: "A" | "AAAA" | "PTR" = "A"): Promise<dnsPacket.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("timeout"));
    }, 3000);
    s.on("message", (msg) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(msg));
    });
    s.send(dnsPacket.encode({ type: "query", id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), 53, gw);
  });
}

function queryTcp(name: string): Promise<dnsPacket.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: gw, port: 53 });
    let buf = Buffer.alloc(0);
    s.setTimeout(3000, () => s.destroy(new Error("timeout")));
    s.on("error", reject);
    s.on("connect", () => s.write(dnsPacket.streamEncode({ type: "query", id: 7, questions: [{ type: "A", name }] })));
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.destroy();
        resolve(dnsPacket.decode(buf.subarray(2)));
      }
    });
  });
}

const aRecords = (p: dnsPacket.DecodedPacket) => dataOf(p, "A");
const dataOf = (p: dnsPacket.DecodedPacket, type: string) => (p.answers ?? []).filter((a) => a.type === type).map((a) => (a as { data: unknown }).data);
/** dns-packet decodes it; its types do not declare it. */
const rcodeOf = (p: dnsPacket.DecodedPacket) => (p as unknown as { rcode: string }).rcode;

test("containers on a user-defined network resolve each other by name and alias", async () => {
  const alpha = await attach("alpha", { networks: [{ network: net.Name, aliases: ["db", "Primary"] }] });
  const beta = await attach("beta");
  const alphaIp = alpha.endpoints[0]!.ip;
  const betaIp = beta.endpoints[0]!.ip;

  const resolv = readFileSync(beta.etcFiles.resolvConf, "utf8");
  assert.match(resolv, new RegExp(`^nameserver ${gw.replace(/\./g, "\\.")}$`, "m"));
  assert.match(resolv, /^options .*ndots:0/m);

  assert.deepEqual(await nslookup(beta.netnsPath!, "alpha"), [alphaIp]);
  assert.deepEqual(await nslookup(beta.netnsPath!, "db"), [alphaIp]);
  assert.deepEqual(await nslookup(beta.netnsPath!, "primary"), [alphaIp]);
  assert.deepEqual(await nslookup(beta.netnsPath!, `alpha.${net.Name}`), [alphaIp]);
  assert.deepEqual(await nslookup(beta.netnsPath!, alpha.containerId.slice(0, 12)), [alphaIp]);
  assert.deepEqual(await nslookup(alpha.netnsPath!, "beta"), [betaIp]);

  // Same network: they talk.
  await fx.httpd(alpha.netnsPath!, "alpha here");
  assert.equal(await wgetFrom(beta.netnsPath!, `http://${alphaIp}:8080/`), "alpha here");

  // From the host (source = the gateway, inside the subnet), over UDP and TCP.
  const r = await queryUdp("alpha");
  assert.equal(r.id, 4242);
  assert.equal(r.flag_aa, true);
  assert.deepEqual(aRecords(r), [alphaIp]);
  assert.deepEqual(aRecords(await queryTcp("beta")), [betaIp]);
  // AAAA of a known name: empty NOERROR, not forwarded.
  const aaaa = await queryUdp("alpha", "AAAA");
  assert.equal(rcodeOf(aaaa), "NOERROR");
  assert.deepEqual(aaaa.answers, []);
  // Reverse lookup.
  const ptr = await queryUdp(alphaIp.split(".").reverse().join(".") + ".in-addr.arpa", "PTR");
  assert.deepEqual(dataOf(ptr, "PTR"), [`alpha.${net.Name}`]);
  // Names nobody knows: the upstream's NXDOMAIN comes back.
  assert.equal(rcodeOf(await queryUdp("nobody")), "NXDOMAIN");
  // Unknown names go to the upstream.
  assert.deepEqual(aRecords(await queryUdp("example.invalid")), ["192.0.2.123"]);
  assert.deepEqual(aRecords(await queryTcp("elsewhere.invalid")), ["192.0.2.123"]);
  assert.deepEqual(await nslookup(beta.netnsPath!, "www.example.invalid"), ["192.0.2.123"]);

  // docker rename: the DNS name follows.
  await m.rename(beta.containerId, "gamma");
  assert.deepEqual(aRecords(await queryUdp("gamma")), [betaIp]);
  assert.equal(rcodeOf(await queryUdp("beta")), "NXDOMAIN");
});

test("networks are isolated; published ports stay reachable from everywhere", async () => {
  const inNet = await attach("server", { ports: [{ containerPort: 8080, protocol: "tcp", hostIp: "", hostPort: 0 }] });
  const hostPort = inNet.ports[0]!.hostPort;
  await fx.httpd(inNet.netnsPath!, "server here");
  const outsiderId = newId();
  ids.push(outsiderId);
  const outsider = await m.attach(outsiderId, { name: "outsider", hostname: "outsider" });

  assert.equal(await httpGet("127.0.0.1", hostPort), "server here");
  // Different networks: no direct traffic, no DNS.
  assert.equal(await wgetFrom(outsider.netnsPath!, `http://${inNet.endpoints[0]!.ip}:8080/`, 1), null);
  assert.deepEqual(await nslookup(outsider.netnsPath!, "server", gw), []);
  // But the published port is public.
  assert.equal(await wgetFrom(outsider.netnsPath!, `http://${fx.bridgeGateway}:${hostPort}/`), "server here");
  assert.equal(await wgetFrom(outsider.netnsPath!, `http://${gw}:${hostPort}/`), "server here");
});

test("connect and disconnect a running sandbox", async () => {
  const id = newId();
  ids.push(id);
  const s = await m.attach(id, { name: "roamer", hostname: "roamer" });
  const peer = await attach("peer");
  assert.deepEqual(await nslookup(peer.netnsPath!, "roamer"), []);

  const ep = await m.connect(id, net.Name, { aliases: ["wanderer"] });
  assert.equal(ep.ifName, "eth1");
  assert.equal(ep.network, net.Name);
  await assert.rejects(m.connect(id, net.Id), ConflictError);
  assert.match((await runIn(s.netnsPath!, ["ip", "-o", "-4", "addr", "show", "dev", "eth1"]))!, new RegExp(`inet ${ep.ip}/`));
  assert.deepEqual(await nslookup(peer.netnsPath!, "roamer"), [ep.ip]);
  assert.deepEqual(await nslookup(peer.netnsPath!, "wanderer"), [ep.ip]);
  assert.equal(m.sandboxOf(id)!.endpoints.length, 2);
  assert.ok(id in m.get(net.Name).Containers);

  await m.disconnect(id, net.Name);
  assert.equal(await runIn(s.netnsPath!, ["ip", "link", "show", "dev", "eth1"]), null);
  assert.deepEqual(await nslookup(peer.netnsPath!, "roamer"), []);
  await assert.rejects(m.disconnect(id, net.Name), NotFoundError);
  await m.disconnect(id, net.Name, true);
  // Still on the default bridge, default route intact.
  assert.match((await runIn(s.netnsPath!, ["ip", "route"]))!, new RegExp(`default via ${fx.bridgeGateway.replace(/\./g, "\\.")} dev eth0`));
});

test("DNS names and leases survive a daemon restart", async () => {
  const id = newId();
  ids.push(id);
  const s = await m.attach(id, { name: "persistent", hostname: "persistent", networks: [{ network: net.Name }] });
  // Restart: close, reopen on the same roots, recover with this container live.
  await m.close();
  m = await fx.open({ dnsUpstreams: [`127.0.0.1:${upstream.address().port}`] });
  await m.recover(ids);
  assert.deepEqual(aRecords(await queryUdp("persistent")), [s.endpoints[0]!.ip]);
  // New leases avoid the recovered ones.
  const other = await attach("after-restart");
  assert.notEqual(other.endpoints[0]!.ip, s.endpoints[0]!.ip);
});
