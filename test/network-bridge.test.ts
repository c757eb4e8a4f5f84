/**
 * The default bridge, published ports, host/none modes, network CRUD,
 * recovery and teardown, on the real kernel (netns, veth, iptables).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { makeNetFixture, newId, httpGet, wgetFrom, iptablesLines, linkNames, runIn, type NetFixture } from "./network-fixture.js";
import type { LinuxNetworkManager } from "../src/network/index.js";
import { AlreadyExistsError, ConflictError, ForbiddenError, InvalidArgumentError, NotFoundError } from "../src/lib/errors.js";

let fx: NetFixture;
let m: LinuxNetworkManager;

before(async () => {
  fx = await makeNetFixture();
  m = await fx.open();
});

after(async () => {
  await fx.cleanup();
  // Nothing of ours is left in the kernel.
  assert.deepEqual(iptablesLines(fx.opts.chainPrefix!), []);
  assert.equal(linkNames().some((l) => l.startsWith(`wt${fx.tag}`)), false);
});

function listening(port: number, host = "0.0.0.0"): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen({ port, host }, () => resolve(s));
  });
}

async function freePort(): Promise<number> {
  const s = await listening(0);
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

test("predefined networks exist and cannot be removed", async () => {
  const names = m.list().map((n) => n.Name);
  assert.deepEqual(names.slice(0, 3).sort(), ["bridge", "host", "none"]);
  const bridge = m.get("bridge");
  assert.equal(bridge.Driver, "bridge");
  assert.equal(bridge.bridgeName, fx.opts.bridgeName);
  assert.equal(bridge.IPAM.Config[0]!.Gateway, fx.bridgeGateway);
  assert.equal(m.get(bridge.Id.slice(0, 6)).Id, bridge.Id);
  await assert.rejects(m.remove("bridge"), (e: unknown) => e instanceof ForbiddenError && /bridge is a pre-defined network and cannot be removed/.test(e.message));
  assert.throws(() => m.get("nope-" + fx.tag), (e: unknown) => e instanceof NotFoundError && e.message === `network nope-${fx.tag} not found`);
});

test("published port answers on 127.0.0.1 and on the container IP; hosts file has self and links", async () => {
  const port = await freePort();
  const a = newId();
  const sa = await m.attach(a, {
    name: "web",
    hostname: a.slice(0, 12),
    ports: [
      { containerPort: 8080, protocol: "tcp", hostIp: "", hostPort: port },
      { containerPort: 8080, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 },
    ],
    extraHosts: ["db.example:10.1.2.3", "gw:host-gateway"],
  });
  try {
    assert.equal(sa.mode, "bridge");
    assert.ok(sa.netnsPath && existsSync(sa.netnsPath));
    assert.equal(sa.endpoints.length, 1);
    const ep = sa.endpoints[0]!;
    assert.equal(ep.ifName, "eth0");
    assert.equal(ep.gateway, fx.bridgeGateway);
    assert.equal(ep.network, "bridge");
    assert.equal(sa.ports[0]!.hostPort, port);
    const randomPort = sa.ports[1]!.hostPort;
    assert.ok(randomPort > 1024 && randomPort !== port);

    const hosts = readFileSync(sa.etcFiles.hosts, "utf8");
    assert.match(hosts, /^127\.0\.0\.1\tlocalhost$/m);
    assert.match(hosts, new RegExp(`^${ep.ip.replace(/\./g, "\\.")}\\t${a.slice(0, 12)}$`, "m"));
    assert.match(hosts, /^10\.1\.2\.3\tdb\.example$/m);
    assert.match(hosts, new RegExp(`^${fx.bridgeGateway.replace(/\./g, "\\.")}\\tgw$`, "m"));
    assert.equal(readFileSync(sa.etcFiles.hostname, "utf8"), `${a.slice(0, 12)}\n`);
    assert.doesNotMatch(readFileSync(sa.etcFiles.resolvConf, "utf8"), /nameserver 127\./);

    const inside = await runIn(sa.netnsPath, ["ip", "-o", "-4", "addr", "show"]);
    assert.match(inside!, new RegExp(`eth0\\s+inet ${ep.ip}/24`));
    assert.match((await runIn(sa.netnsPath, ["ip", "route"]))!, new RegExp(`default via ${fx.bridgeGateway} dev eth0`));

    await fx.httpd(sa.netnsPath, "hello from a");
    assert.equal(await httpGet("127.0.0.1", port), "hello from a");
    assert.equal(await httpGet("localhost", port), "hello from a");
    assert.equal(await httpGet("127.0.0.1", randomPort), "hello from a");
    assert.equal(await httpGet(ep.ip, 8080), "hello from a");
    // The port is held: nobody else can bind it.
    await assert.rejects(listening(port), /EADDRINUSE/);

    // Another container: reaches a through the gateway address (PREROUTING path), through
    // a's own address (same bridge), and via its link alias in /etc/hosts.
    const b = newId();
    const sb = await m.attach(b, { name: "client", hostname: "client", links: [{ name: "web", alias: "webalias", containerId: a }] });
    try {
      assert.match(readFileSync(sb.etcFiles.hosts, "utf8"), new RegExp(`^${ep.ip.replace(/\./g, "\\.")}\\twebalias ${a.slice(0, 12)} web$`, "m"));
      assert.equal(await wgetFrom(sb.netnsPath!, `http://${fx.bridgeGateway}:${port}/`), "hello from a");
      assert.equal(await wgetFrom(sb.netnsPath!, `http://${ep.ip}:8080/`), "hello from a");
      // Hairpin: a reaches its own published port through the gateway address.
      assert.equal(await wgetFrom(sa.netnsPath, `http://${fx.bridgeGateway}:${port}/`), "hello from a");
      // The 127.0.0.1-only binding is not published on other addresses.
      assert.equal(await wgetFrom(sb.netnsPath!, `http://${fx.bridgeGateway}:${randomPort}/`, 1), null);
    } finally {
      await m.detach(b);
    }
  } finally {
    await m.detach(a);
  }
  assert.equal(existsSync(sa.netnsPath), false);
  assert.equal(existsSync(sa.etcFiles.hosts), false);
  assert.deepEqual(iptablesLines(`--dport ${port} `), []);
  // Released: the port can be bound again, and detach is idempotent.
  const s = await listening(port);
  await new Promise((r) => s.close(r));
  await m.detach(a);
});

test("detach returns before the veth is deleted; the veth goes right after", async () => {
  const onBridge = () =>
    (JSON.parse(execFileSync("ip", ["-j", "link", "show", "master", fx.opts.bridgeName!], { encoding: "utf8" }) || "[]") as Array<{ ifname: string }>).map((l) => l.ifname);
  const before = onBridge();
  const a = newId();
  await m.attach(a, { hostname: "a" });
  const added = onBridge().filter((n) => !before.includes(n));
  assert.equal(added.length, 1);
  await m.detach(a);
  const deadline = Date.now() + 5000;
  while (onBridge().includes(added[0]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(onBridge().includes(added[0]!), false, `${added[0]} still on the bridge 5 s after detach`);
});

test("the bridge's MAC address is set, and stays when containers join it", async () => {
  const bridge = fx.opts.bridgeName!;
  const mac = () => readFileSync(`/sys/class/net/${bridge}/address`, "utf8").trim();
  // 3 = NET_ADDR_SET: the kernel no longer replaces it with the lowest port's address.
  assert.equal(readFileSync(`/sys/class/net/${bridge}/addr_assign_type`, "utf8").trim(), "3");
  const before = mac();
  const ids = [newId(), newId(), newId()];
  try {
    for (const id of ids) await m.attach(id, { hostname: "m" });
    assert.equal(mac(), before);
  } finally {
    for (const id of ids) await m.detach(id);
  }
});

test("a host port in use is a ConflictError and leaves nothing behind", async () => {
  const port = await freePort();
  const squatter = await listening(port);
  const id = newId();
  const linksBefore = linkNames();
  try {
    await assert.rejects(
      m.attach(id, { name: "registry", hostname: "r", ports: [{ containerPort: 5000, protocol: "tcp", hostIp: "", hostPort: port }] }),
      (e: unknown) =>
        e instanceof ConflictError &&
        new RegExp(`^driver failed programming external connectivity on endpoint registry \\([0-9a-f]{64}\\): Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated$`).test(e.message),
    );
  } finally {
    await new Promise((r) => squatter.close(r));
  }
  assert.equal(m.sandboxOf(id), undefined);
  assert.equal(existsSync(join(fx.opts.execRoot, "netns", id)), false);
  assert.deepEqual(iptablesLines(`--dport ${port} `), []);
  assert.deepEqual(linkNames(), linksBefore);

  // Two containers asking for the same host port: the second fails, the first keeps it.
  const a = newId();
  await m.attach(a, { hostname: "a", ports: [{ containerPort: 80, protocol: "tcp", hostIp: "", hostPort: port }] });
  try {
    const b = newId();
    await assert.rejects(m.attach(b, { hostname: "b", ports: [{ containerPort: 80, protocol: "tcp", hostIp: "", hostPort: port }] }), ConflictError);
    assert.equal(m.sandboxOf(b), undefined);
    assert.equal(iptablesLines(`--dport ${port} `).length, 1);
  } finally {
    await m.detach(a);
  }
});

test("a container cannot reach the host's loopback-only services (route_localnet hardening)", async () => {
  const secret = createServer((sock) => sock.end("HTTP/1.0 200 OK\r\n\r\nhost secret"));
  await new Promise<void>((r) => secret.listen(0, "127.0.0.1", () => r()));
  const port = (secret.address() as { port: number }).port;
  const id = newId();
  const s = await m.attach(id, { hostname: "evil" });
  try {
    // What a hostile container would do: send to 127.0.0.1 through the gateway, accept martian replies.
    await runIn(s.netnsPath!, ["ip", "addr", "del", "127.0.0.1/8", "dev", "lo"]);
    await runIn(s.netnsPath!, ["ip", "route", "add", "127.0.0.0/8", "via", fx.bridgeGateway, "dev", "eth0"]);
    await runIn(s.netnsPath!, ["sysctl", "-q", "-w", "net.ipv4.conf.eth0.route_localnet=1"]);
    assert.equal(await wgetFrom(s.netnsPath!, `http://127.0.0.1:${port}/`, 1), null);
  } finally {
    await m.detach(id);
    await new Promise((r) => secret.close(r));
  }
});

test("UDP ports are published and reserved", async () => {
  const id = newId();
  const s = await m.attach(id, { hostname: "u", ports: [{ containerPort: 53, protocol: "udp", hostIp: "", hostPort: 0 }] });
  try {
    assert.equal(s.ports[0]!.protocol, "udp");
    assert.equal(iptablesLines(`-p udp -m udp --dport ${s.ports[0]!.hostPort} `).length, 1);
  } finally {
    await m.detach(id);
  }
});

test("host and none modes", async () => {
  const h = newId();
  const sh = await m.attach(h, { hostname: "hosty", networks: [{ network: "host" }], ports: [{ containerPort: 1, protocol: "tcp", hostIp: "", hostPort: 0 }] });
  assert.equal(sh.mode, "host");
  assert.equal(sh.netnsPath, null);
  assert.deepEqual(sh.ports, []);
  assert.equal(readFileSync(sh.etcFiles.resolvConf, "utf8"), readFileSync("/etc/resolv.conf", "utf8"));
  assert.equal(readFileSync(sh.etcFiles.hosts, "utf8"), readFileSync("/etc/hosts", "utf8"));
  await m.detach(h);

  const n = newId();
  const sn = await m.attach(n, { hostname: "lonely", networks: [{ network: "none" }] });
  try {
    assert.equal(sn.mode, "none");
    assert.deepEqual(sn.endpoints, []);
    // Nothing to wire: the runtime makes the namespace (lo only) with the container.
    assert.equal(sn.netnsPath, null);
    assert.match(readFileSync(sn.etcFiles.hosts, "utf8"), /localhost/);
  } finally {
    await m.detach(n);
  }
  await assert.rejects(m.attach(newId(), { hostname: "x", networks: [{ network: "host" }, { network: "bridge" }] }), InvalidArgumentError);
});

test("network create/get/remove/prune and their errors", async () => {
  const name = `net-${fx.tag}`;
  const net = await m.create({ Name: name, Labels: { a: "b" } });
  try {
    assert.equal(net.Driver, "bridge");
    assert.match(net.Id, /^[0-9a-f]{64}$/);
    assert.equal(net.bridgeName, `br-${net.Id.slice(0, 12)}`);
    assert.match(net.IPAM.Config[0]!.Subnet, /\/24$/);
    assert.ok(linkNames().includes(net.bridgeName!));
    await assert.rejects(m.create({ Name: name }), AlreadyExistsError);
    await assert.rejects(m.create({ Name: `${name}-2`, IPAM: { Config: [{ Subnet: net.IPAM.Config[0]!.Subnet }] } }), InvalidArgumentError);
    await assert.rejects(m.create({ Name: `${name}-3`, IPAM: { Config: [{ Subnet: "10.1.2.3/16" }] } }), /it should be 10\.1\.0\.0\/16/);
    await assert.rejects(m.create({ Name: `${name}-4`, Driver: "host" }), ForbiddenError);
    await assert.rejects(m.create({ Name: `${name}-5`, Driver: "overlay" }), NotFoundError);

    const id = newId();
    await m.attach(id, { name: "c1", hostname: "c1", networks: [{ network: name, ipv4: net.IPAM.Config[0]!.Subnet.replace(/0\/24$/, "77") }] });
    assert.equal(Object.keys(m.get(name).Containers).length, 1);
    assert.equal(m.get(name).Containers[id]!.IPv4Address, net.IPAM.Config[0]!.Subnet.replace(/0\/24$/, "77/24"));
    await assert.rejects(
      m.remove(name),
      (e: unknown) => e instanceof ConflictError && e.message === `error while removing network: network ${name} id ${net.Id} has active endpoints`,
    );
    assert.deepEqual(await m.prune(), []);
    await m.detach(id);
    // An internal network with a given subnet and gateway.
    const internal = await m.create({ Name: `${name}-int`, Internal: true, IPAM: { Config: [{ Subnet: "10.199.77.0/24", Gateway: "10.199.77.254" }] } });
    assert.equal(internal.IPAM.Config[0]!.Gateway, "10.199.77.254");
    assert.deepEqual((await m.prune((n) => n.Name === name)).sort(), [name]);
    await m.remove(internal.Id);
    assert.throws(() => m.get(name), NotFoundError);
    await assert.rejects(m.remove(name), NotFoundError);
  } finally {
    for (const n of [name, `${name}-int`]) await m.remove(n).catch(() => {});
  }
  assert.equal(linkNames().includes(net.bridgeName!), false);
});

test("recover keeps live sandboxes, removes the rest, after a restart", async () => {
  const data = { ...fx.opts, dataRoot: join(fx.dir, "data-r"), execRoot: join(fx.dir, "run-r"), bridgeName: `wt${fx.tag}1`, chainPrefix: `WHARF-T${fx.tag}R` };
  // Its own bridge subnet, so it does not overlap the suite's manager.
  const [o1, o2, o3] = fx.bridgeGateway.split(".");
  data.bridgeCidr = `${o1}.${o2}.${(Number(o3) + 1) % 256}.1/24`;
  const m1 = await fx.open(data);
  const live = newId();
  const dead = newId();
  const sl = await m1.attach(live, { hostname: "live", ports: [{ containerPort: 8080, protocol: "tcp", hostIp: "", hostPort: 0 }] });
  const sd = await m1.attach(dead, { hostname: "dead", ports: [{ containerPort: 8080, protocol: "tcp", hostIp: "", hostPort: 0 }] });
  const livePort = sl.ports[0]!.hostPort;
  const deadPort = sd.ports[0]!.hostPort;
  const httpd = await fx.httpd(sl.netnsPath!, "still here");
  // A netns file without a record: what a crash between unshare and the record write would leave.
  const strayNetns = join(data.execRoot, "netns", newId());
  execFileSync("touch", [strayNetns]);
  execFileSync("unshare", [`--net=${strayNetns}`, "true"]);
  // The daemon dies (its sockets with it); kernel state stays.
  await m1.close();
  assert.equal(await httpGet("127.0.0.1", livePort), "still here");

  const m2 = await fx.open(data);
  await m2.recover([live]);
  await m2.recover([live]); // twice is fine
  try {
    assert.equal(await httpGet("127.0.0.1", livePort), "still here");
    await assert.rejects(listening(livePort), /EADDRINUSE/);
    assert.ok(m2.sandboxOf(live));
    assert.equal(m2.sandboxOf(dead), undefined);
    assert.equal(existsSync(sd.netnsPath!), false);
    assert.equal(existsSync(strayNetns), false);
    assert.deepEqual(iptablesLines(`--dport ${deadPort} `), []);
    assert.equal(iptablesLines(`--dport ${livePort} `).length, 1);
    // The dead one's address is free again, the live one's is not handed out twice.
    const next = newId();
    const sn = await m2.attach(next, { hostname: "n" });
    assert.notEqual(sn.endpoints[0]!.ip, sl.endpoints[0]!.ip);
    await m2.detach(next);
  } finally {
    await fx.kill(httpd);
    await m2.teardownAll();
  }
  assert.deepEqual(iptablesLines(data.chainPrefix), []);
  assert.equal(linkNames().includes(data.bridgeName), false);
});
