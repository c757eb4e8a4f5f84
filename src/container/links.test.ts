import { test } from "node:test";
import assert from "node:assert/strict";
import { linkEnv, parseLink } from "./links.js";

test("link specs: name, name:alias, the stored /name:/self/alias form", () => {
  assert.deepEqual(parseLink("db"), { target: "db", alias: "db" });
  assert.deepEqual(parseLink("db:store"), { target: "db", alias: "store" });
  assert.deepEqual(parseLink("/db:/web/store"), { target: "db", alias: "store" });
  assert.throws(() => parseLink(":x"), /invalid link/);
  assert.throws(() => parseLink("db:"), /invalid link/);
});

test("link env: Docker's variable names", () => {
  const env = linkEnv({
    alias: "zk-1",
    self: "web",
    ip: "10.0.0.2",
    ports: [{ port: 2181, protocol: "tcp" }, { port: 2181, protocol: "udp" }],
    env: ["PATH=/bin", "MODE=standalone", "HOME=/root"],
  });
  assert.deepEqual(env, [
    "ZK_1_NAME=/web/zk-1",
    "ZK_1_PORT=tcp://10.0.0.2:2181",
    "ZK_1_PORT_2181_TCP=tcp://10.0.0.2:2181",
    "ZK_1_PORT_2181_TCP_ADDR=10.0.0.2",
    "ZK_1_PORT_2181_TCP_PORT=2181",
    "ZK_1_PORT_2181_TCP_PROTO=tcp",
    "ZK_1_PORT_2181_UDP=udp://10.0.0.2:2181",
    "ZK_1_PORT_2181_UDP_ADDR=10.0.0.2",
    "ZK_1_PORT_2181_UDP_PORT=2181",
    "ZK_1_PORT_2181_UDP_PROTO=udp",
    "ZK_1_ENV_MODE=standalone",
  ]);
});
