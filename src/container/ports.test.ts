import { test } from "node:test";
import assert from "node:assert/strict";
import { parsePortKeys, portList, portMap, publishedPorts, exposedPortKeys } from "./ports.js";

test("port keys: protocol default, ranges, bad input", () => {
  assert.deepEqual(parsePortKeys("80"), [{ port: 80, protocol: "tcp" }]);
  assert.deepEqual(parsePortKeys("53/UDP"), [{ port: 53, protocol: "udp" }]);
  assert.equal(parsePortKeys("7000-7002/tcp").length, 3);
  assert.throws(() => parsePortKeys("x/tcp"), /invalid containerPort: x/);
  assert.throws(() => parsePortKeys("0"), /invalid containerPort/);
  assert.throws(() => parsePortKeys("80/icmp"), /invalid proto: icmp/);
});

test("published ports: bindings, host ranges, -P, errors", () => {
  const ports = publishedPorts(
    { ExposedPorts: { "80/tcp": {}, "443/tcp": {}, "53/udp": {} } },
    {
      PortBindings: {
        "80/tcp": [{ HostIp: "", HostPort: "8080" }, { HostIp: "127.0.0.1", HostPort: "" }],
        "9000-9001/tcp": [{ HostIp: "", HostPort: "19000-19001" }],
        "5000/tcp": [{ HostIp: "", HostPort: "15000-15010" }],
      },
      PublishAllPorts: true,
    },
  );
  assert.deepEqual(ports, [
    { containerPort: 80, protocol: "tcp", hostIp: "", hostPort: 8080 },
    { containerPort: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 },
    { containerPort: 9000, protocol: "tcp", hostIp: "", hostPort: 19000 },
    { containerPort: 9001, protocol: "tcp", hostIp: "", hostPort: 19001 },
    { containerPort: 5000, protocol: "tcp", hostIp: "", hostPort: 15000, hostPortEnd: 15010 },
    { containerPort: 443, protocol: "tcp", hostIp: "", hostPort: 0 },
    { containerPort: 53, protocol: "udp", hostIp: "", hostPort: 0 },
  ]);
  const bad = (b: Record<string, Array<{ HostIp: string; HostPort: string }>>, re: RegExp) =>
    assert.throws(() => publishedPorts({}, { PortBindings: b, PublishAllPorts: false }), re);
  bad({ "80/tcp": [{ HostIp: "", HostPort: "70000" }] }, /invalid hostPort: 70000/);
  bad({ "80/tcp": [{ HostIp: "nope", HostPort: "1" }] }, /invalid host IP address nope/);
  bad({ "80-82/tcp": [{ HostIp: "", HostPort: "1-2" }] }, /invalid ranges/);
});

test("views: inspect PortMap and ps Ports", () => {
  const exposed = exposedPortKeys({ ExposedPorts: { "443/tcp": {}, "80/tcp": {} } });
  assert.deepEqual(exposed.map((p) => p.port), [80, 443]);
  const bound = [{ containerPort: 80, protocol: "tcp" as const, hostIp: "", hostPort: 8080 }];
  assert.deepEqual(portMap(exposed, bound), { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "443/tcp": null });
  assert.deepEqual(portList(exposed, bound), [
    { IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
    { PrivatePort: 443, Type: "tcp" },
  ]);
});
