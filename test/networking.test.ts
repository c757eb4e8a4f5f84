import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { request } from "node:http";
import { createServer, type Server } from "node:net";
import { hostname } from "node:os";
import { promisify } from "node:util";
import { TestDaemon } from "./support/daemon.js";

/**
 * Networking through real containers and the real docker CLI: published
 * ports served by busybox httpd and fetched from the host on 127.0.0.1,
 * links, user-defined networks with DNS, host/none/container modes,
 * recovery after a daemon crash, and no iptables/bridge leftovers. Traffic
 * goes only to loopback and to the test daemon's own networks.
 */
const run = promisify(execFile);
let daemon: TestDaemon;
const p = `wharftest-${randomBytes(3).toString("hex")}`;
const serve = (body: string, port = 80) => ["sh", "-c", `mkdir -p /www && echo ${body} > /www/index.html && exec httpd -f -p ${port} -h /www`];

before(async () => {
  daemon = await TestDaemon.start();
});
after(async () => {
  await daemon?.stop();
});

/** GET http://127.0.0.1:port/path, retried until it answers or `ms` passes. */
async function fetchLocal(port: number, path = "/index.html", ms = 5000, host = "127.0.0.1"): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const req = request({ host, port, path, timeout: 1000 }, (res) => {
          let body = "";
          res.on("data", (d: Buffer) => (body += d.toString()));
          res.on("end", () => resolve(body));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", reject);
        req.end();
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A port free on 127.0.0.1 right now (the kernel's pick). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function ok(r: Promise<{ code: number; stdout: string; stderr: string }>): Promise<string> {
  const res = await r;
  assert.equal(res.code, 0, res.stderr);
  return res.stdout;
}

async function iptablesSave(): Promise<string> {
  const [filter, nat] = await Promise.all([run("iptables-save", ["-t", "filter"]), run("iptables-save", ["-t", "nat"])]);
  return filter.stdout + nat.stdout;
}

test("a published port is served on 127.0.0.1 and shown by ps, port and inspect", async () => {
  const port = await freePort();
  await ok(daemon.docker(["run", "-d", "--name", `${p}-web`, "-p", `${port}:80`, "busybox", ...serve("hello-port")]));
  assert.equal((await fetchLocal(port)).trim(), "hello-port");
  assert.equal((await fetchLocal(port, "/index.html", 5000, "localhost")).trim(), "hello-port");

  const ps = await ok(daemon.docker(["ps", "--filter", `name=${p}-web`, "--format", "{{.Ports}}"]));
  assert.equal(ps.trim(), `0.0.0.0:${port}->80/tcp`);
  assert.equal((await ok(daemon.wharf(["port", `${p}-web`]))).trim(), `80/tcp -> 0.0.0.0:${port}`);
  assert.equal((await ok(daemon.docker(["port", `${p}-web`, "80"]))).trim(), `0.0.0.0:${port}`);
  const ip = (await ok(daemon.docker(["inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.NetworkSettings.Networks.bridge.Gateway}}", `${p}-web`]))).trim();
  assert.equal(ip.split(" ")[1], daemon.net.gateway);
  assert.match(ip.split(" ")[0]!, new RegExp(`^${daemon.net.gateway.split(".").slice(0, 3).join("\\.")}\\.\\d+$`));

  // From another container, through the container's address.
  const inner = await ok(daemon.wharf(["run", "--rm", "busybox", "wget", "-qO-", `http://${ip.split(" ")[0]}/index.html`]));
  assert.equal(inner.trim(), "hello-port");

  // The container's own /etc files are the daemon's, mounted in.
  const etc = await ok(daemon.wharf(["exec", `${p}-web`, "sh", "-c", "cat /etc/hostname; grep -c nameserver /etc/resolv.conf; mount | grep -c /etc/hosts"]));
  const [h, ns, mounted] = etc.trim().split("\n");
  assert.equal(h, (await ok(daemon.wharf(["inspect", "-f", "{{.Config.Hostname}}", `${p}-web`]))).trim());
  assert.ok(Number(ns) >= 1);
  assert.equal(mounted, "1");

  await ok(daemon.wharf(["rm", "-f", `${p}-web`]));
  assert.doesNotMatch(await iptablesSave(), new RegExp(`--dport ${port} `));
});

test("random host ports: -p containerPort, -P over exposed ports, host port ranges", async () => {
  await ok(daemon.wharf(["run", "-d", "--name", `${p}-rand`, "-p", "127.0.0.1::80", "--expose", "8081", "-P", "busybox", ...serve("rand")]));
  const ports = (await ok(daemon.docker(["port", `${p}-rand`]))).trim().split("\n").sort();
  assert.equal(ports.length, 2, ports.join("\n"));
  const m = /^80\/tcp -> 127\.0\.0\.1:(\d+)$/.exec(ports[0]!);
  assert.ok(m, ports[0]);
  assert.match(ports[1]!, /^8081\/tcp -> 0\.0\.0\.0:\d+$/);
  assert.equal((await fetchLocal(Number(m[1]))).trim(), "rand");

  const lo = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(lo, "127.0.0.1", () => r()));
  try {
    await ok(daemon.wharf(["run", "-d", "--name", `${p}-range`, "-p", `127.0.0.1:${lo}-${lo + 5}:80`, "busybox", ...serve("ranged")]));
    const bound = Number((await ok(daemon.docker(["port", `${p}-range`, "80"]))).trim().split(":")[1]);
    assert.ok(bound > lo && bound <= lo + 5, `bound ${bound}, range ${lo}-${lo + 5}`);
    assert.equal((await fetchLocal(bound)).trim(), "ranged");
  } finally {
    blocker.close();
    await daemon.wharf(["rm", "-f", `${p}-rand`, `${p}-range`]);
  }
});

test("a host port in use: a clear error and nothing half-wired", async () => {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(port, "0.0.0.0", () => r()));
  try {
    const res = await daemon.docker(["run", "-d", "--name", `${p}-busy`, "-p", `${port}:80`, "busybox", "sleep", "30"]);
    assert.equal(res.code, 125);
    assert.match(res.stderr, new RegExp(`Bind for 0\\.0\\.0\\.0:${port} failed: port is already allocated`));
    const state = (await ok(daemon.wharf(["inspect", "-f", "{{.State.Status}}", `${p}-busy`]))).trim();
    assert.equal(state, "created");
    const id = (await ok(daemon.wharf(["inspect", "-f", "{{.Id}}", `${p}-busy`]))).trim();
    assert.doesNotMatch(await iptablesSave(), new RegExp(id.slice(0, 12)));
  } finally {
    blocker.close();
    await daemon.wharf(["rm", "-f", `${p}-busy`]);
  }
});

test("--link: the alias resolves through /etc/hosts and the peer's ports arrive as env", async () => {
  await ok(daemon.wharf(["run", "-d", "--name", `${p}-db`, "--expose", "80", "-e", "ROLE=primary", "busybox", ...serve("linked")]));
  try {
    const out = await ok(daemon.docker(["run", "--rm", "--link", `${p}-db:store`, "busybox", "sh", "-c", "wget -qO- http://store/index.html; env | grep ^STORE_ | sort"]));
    const lines = out.trim().split("\n");
    assert.equal(lines[0], "linked");
    const env = lines.slice(1);
    assert.ok(env.includes("STORE_ENV_ROLE=primary"), env.join("\n"));
    assert.ok(env.some((e) => /^STORE_PORT_80_TCP_ADDR=10\.\d+\.\d+\.\d+$/.test(e)), env.join("\n"));
    assert.ok(env.some((e) => /^STORE_NAME=\/[a-z_]+\/store$/.test(e)), env.join("\n"));

    const stopped = await daemon.wharf(["create", "--name", `${p}-off`, "busybox", "true"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const bad = await daemon.wharf(["run", "--rm", "--link", `${p}-off:x`, "busybox", "true"]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Cannot link to a non running container/);
    const missing = await daemon.wharf(["run", "--rm", "--link", `${p}-nope:x`, "busybox", "true"]);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /could not get container for wharftest-\w+-nope/);
  } finally {
    await daemon.wharf(["rm", "-f", `${p}-db`, `${p}-off`]);
  }
});

test("user-defined networks: DNS by name and alias, connect/disconnect, rm refused while in use", async () => {
  const net = `${p}-net`;
  await ok(daemon.docker(["network", "create", net]));
  try {
    await ok(daemon.docker(["run", "-d", "--name", `${p}-api`, "--network", net, "--network-alias", "backend", "busybox", ...serve("by-dns", 8000)]));
    const out = await ok(daemon.docker(["run", "--rm", "--network", net, "busybox", "sh", "-c", `wget -qO- http://${p}-api:8000/index.html && wget -qO- http://backend:8000/index.html`]));
    assert.equal(out, "by-dns\nby-dns\n");

    const inspect = JSON.parse(await ok(daemon.docker(["network", "inspect", net])))[0];
    assert.equal(inspect.Name, net);
    assert.equal(inspect.Driver, "bridge");
    assert.deepEqual(Object.values(inspect.Containers).map((c) => (c as { Name: string }).Name), [`${p}-api`]);
    const ls = await ok(daemon.docker(["network", "ls", "--format", "{{.Name}}"]));
    assert.deepEqual(ls.trim().split("\n").sort(), ["bridge", "host", net, "none"].sort());

    const rm = await daemon.docker(["network", "rm", net]);
    assert.notEqual(rm.code, 0);
    assert.match(rm.stderr, /has active endpoints/);

    // A container on the default bridge joins the network while running, then leaves it.
    await ok(daemon.wharf(["run", "-d", "--name", `${p}-late`, "busybox", "sleep", "60"]));
    await ok(daemon.docker(["network", "connect", net, `${p}-late`]));
    const viaDns = await ok(daemon.wharf(["exec", `${p}-late`, "wget", "-qO-", `http://backend:8000/index.html`]));
    assert.equal(viaDns, "by-dns\n");
    const nets = await ok(daemon.docker(["inspect", "-f", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", `${p}-late`]));
    assert.deepEqual(nets.trim().split(" ").sort(), ["bridge", net].sort());
    await ok(daemon.docker(["network", "disconnect", net, `${p}-late`]));
    const gone = await daemon.wharf(["exec", `${p}-late`, "sh", "-c", "ip -o addr | grep -c eth1"]);
    assert.equal(gone.stdout.trim(), "0");

    const unknown = await daemon.docker(["run", "--rm", "--network", `${p}-nonet`, "busybox", "true"]);
    assert.equal(unknown.code, 125);
    assert.match(unknown.stderr, /network wharftest-\w+-nonet not found/);
    assert.doesNotMatch(unknown.stderr, /Unable to find image/);
  } finally {
    await daemon.wharf(["rm", "-f", `${p}-api`, `${p}-late`]);
    await daemon.docker(["network", "rm", net]);
  }
  const after = await ok(daemon.docker(["network", "ls", "--format", "{{.Name}}"]));
  assert.ok(!after.includes(net));
});

test("--net=host, --net=none and --net=container:", async () => {
  const host = await ok(daemon.wharf(["run", "--rm", "--net=host", "busybox", "sh", "-c", "hostname; ip -o link show"]));
  const [name, ...links] = host.trim().split("\n");
  assert.equal(name, hostname());
  assert.ok(links.some((l) => l.includes(`${daemon.net.bridge}:`)), "the host's interfaces, the daemon's bridge among them");

  const none = await ok(daemon.wharf(["run", "--rm", "--net=none", "busybox", "ip", "-o", "link", "show"]));
  assert.deepEqual(none.trim().split("\n").map((l) => l.split(": ")[1]), ["lo"]);
  assert.match(none, /lo: <LOOPBACK,UP/);

  // A none-mode container's namespace is its own (runc made it): peers join it all the same.
  await ok(daemon.wharf(["run", "-d", "--net=none", "--name", `${p}-lonely`, "busybox", ...serve("lonely-ns")]));
  try {
    const key = await ok(daemon.docker(["inspect", "-f", "{{.NetworkSettings.SandboxKey}}", `${p}-lonely`]));
    assert.match(key.trim(), /^\/proc\/\d+\/ns\/net$/);
    const joined = await ok(daemon.docker(["run", "--rm", `--net=container:${p}-lonely`, "busybox", "wget", "-qO-", "http://127.0.0.1/index.html"]));
    assert.equal(joined, "lonely-ns\n");
  } finally {
    await daemon.wharf(["rm", "-f", `${p}-lonely`]);
  }

  await ok(daemon.wharf(["run", "-d", "--name", `${p}-owner`, "busybox", ...serve("shared-ns")]));
  try {
    const shared = await ok(daemon.docker(["run", "--rm", `--net=container:${p}-owner`, "busybox", "wget", "-qO-", "http://127.0.0.1/index.html"]));
    assert.equal(shared, "shared-ns\n");
    await ok(daemon.wharf(["stop", "-t", "0", `${p}-owner`]));
    const stopped = await daemon.wharf(["run", "--rm", `--net=container:${p}-owner`, "busybox", "true"]);
    assert.notEqual(stopped.code, 0);
    assert.match(stopped.stderr, /cannot join network namespace of a non running container/);
  } finally {
    await daemon.wharf(["rm", "-f", `${p}-owner`]);
  }
});

test("--mac-address: the interface has it, from both CLIs; the default is derived from the address; bad ones refused", async () => {
  assert.equal(await ok(daemon.docker(["run", "--rm", "--mac-address", "92:d0:c6:0a:29:33", "busybox", "cat", "/sys/class/net/eth0/address"])), "92:d0:c6:0a:29:33\n");
  assert.equal(await ok(daemon.wharf(["run", "--rm", "--mac-address", "92:D0:C6:0A:29:34", "busybox", "cat", "/sys/class/net/eth0/address"])), "92:d0:c6:0a:29:34\n");
  assert.match(await ok(daemon.docker(["run", "--rm", "busybox", "cat", "/sys/class/net/eth0/address"])), /^02:42:/);
  const multicast = await daemon.docker(["run", "--rm", "--mac-address", "93:00:00:00:00:01", "busybox", "true"]);
  assert.equal(multicast.code, 125);
  assert.match(multicast.stderr, /invalid MAC address: 93:00:00:00:00:01: a multicast address/);
});

test("bad input: clear errors, nothing created", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["run", "-p", "notaport", "busybox"], /invalid containerPort: notaport/],
    [["run", "-p", "70000:80", "busybox"], /invalid hostPort: 70000/],
    [["run", "--net=container:x", "-p", "80", "busybox"], /conflicting options: port publishing and the container type network mode/],
    [["run", "--network-alias", "a", "busybox"], /network-scoped alias/],
  ];
  for (const [args, re] of cases) {
    const r = await daemon.docker(args);
    assert.equal(r.code, 125, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
  const created = await ok(daemon.wharf(["ps", "-aq"]));
  assert.equal(created.trim(), "");
  const dup = await daemon.docker(["network", "create", "bridge"]);
  assert.notEqual(dup.code, 0);
  assert.match(dup.stderr, /already exists|pre-defined/);
});

test("after a daemon crash, published ports and DNS keep working; removal cleans up", async () => {
  const net = `${p}-rnet`;
  const port = await freePort();
  await ok(daemon.docker(["network", "create", net]));
  await ok(daemon.wharf(["run", "-d", "--name", `${p}-keep`, "-p", `127.0.0.1:${port}:80`, "busybox", ...serve("survivor")]));
  await ok(daemon.wharf(["run", "-d", "--name", `${p}-dns`, "--network", net, "busybox", ...serve("dns-survivor")]));
  await fetchLocal(port);

  await daemon.crash();
  await daemon.launch();
  assert.equal((await fetchLocal(port)).trim(), "survivor");
  const viaDns = await ok(daemon.wharf(["run", "--rm", "--network", net, "busybox", "wget", "-qO-", `http://${p}-dns/index.html`]));
  assert.equal(viaDns, "dns-survivor\n");
  // The port is still reserved: a second container cannot take it.
  const clash = await daemon.wharf(["run", "-d", "--name", `${p}-clash`, "-p", `127.0.0.1:${port}:80`, "busybox", "true"]);
  assert.equal(clash.code, 125);
  assert.match(clash.stderr, /port is already allocated/);

  const ids = (await ok(daemon.wharf(["inspect", "-f", "{{.Id}}", `${p}-keep`, `${p}-dns`]))).trim().split("\n");
  const netId = (await ok(daemon.docker(["network", "inspect", "-f", "{{.Id}}", net]))).trim();
  await ok(daemon.wharf(["rm", "-f", `${p}-keep`, `${p}-dns`, `${p}-clash`]));
  await ok(daemon.docker(["network", "rm", net]));
  const rules = await iptablesSave();
  for (const id of ids) assert.doesNotMatch(rules, new RegExp(`wharf:${id.slice(0, 12)}`));
  const links = await run("ip", ["-o", "link", "show"]);
  assert.doesNotMatch(links.stdout, new RegExp(`br-${netId.slice(0, 12)}`));
});

test("a stopped daemon's network is torn down completely", async () => {
  const d = await TestDaemon.start({ loadBusybox: true });
  try {
    await ok(d.wharf(["run", "-d", "--name", `${p}-x`, "-p", "127.0.0.1::80", "busybox", "sleep", "60"]));
    await ok(d.docker(["network", "create", `${p}-tnet`]));
    assert.match(await iptablesSave(), new RegExp(d.net.chainPrefix));
  } finally {
    await d.stop();
  }
  assert.doesNotMatch(await iptablesSave(), new RegExp(d.net.chainPrefix));
  const links = await run("ip", ["-o", "link", "show"]);
  assert.doesNotMatch(links.stdout, new RegExp(d.net.bridge));
});

test("--bridge none (dockerd's flag): no default bridge, containers default to no network, no device called none", async () => {
  const d = await TestDaemon.start({ bridge: "none" });
  try {
    const nets = (await ok(d.docker(["network", "ls", "--format", "{{.Name}}"]))).trim().split("\n").sort();
    assert.deepEqual(nets, ["host", "none"]);
    assert.equal(await ok(d.wharf(["run", "--rm", "busybox", "sh", "-c", "ls /sys/class/net"])), "lo\n");
    await ok(d.wharf(["run", "--name", `${p}-nb`, "busybox", "true"]));
    const modes = await ok(d.wharf(["inspect", "-f", "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", `${p}-nb`]));
    assert.equal(modes.trim(), "default none");
    const asked = await d.wharf(["run", "--rm", "--net", "bridge", "busybox", "true"]);
    assert.notEqual(asked.code, 0);
    assert.match(asked.stderr, /network bridge not found/);
    // User-defined bridges still work.
    await ok(d.docker(["network", "create", `${p}-nbnet`]));
    assert.match(await ok(d.wharf(["run", "--rm", "--net", `${p}-nbnet`, "busybox", "ls", "/sys/class/net"])), /eth0/);
    await ok(d.docker(["network", "rm", `${p}-nbnet`]));
    await ok(d.wharf(["rm", `${p}-nb`]));
  } finally {
    await d.stop();
  }
  const links = await run("ip", ["-o", "link", "show"]);
  assert.doesNotMatch(links.stdout, /^\d+: none[:@]/m);
});
