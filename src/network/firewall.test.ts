import { test } from "node:test";
import assert from "node:assert/strict";
import { chainNames, presentHooks, renderTable } from "./firewall.js";

const c = chainNames("WHARF");
const state = {
  networks: [
    { bridge: "wharf0", subnet: "10.213.0.0/16", internal: false },
    { bridge: "br-123", subnet: "10.214.0.0/24", internal: true },
  ],
  ports: [{ containerId: "ab".repeat(32), protocol: "tcp" as const, hostIp: "", hostPort: 5000, containerIp: "10.213.0.2", containerPort: 5000 }],
};

test("nat: DNAT per port, masquerade per non-internal network, loopback and hairpin masquerade", () => {
  assert.deepEqual(renderTable(c, "nat", state), [
    "-A WHARF -p tcp -m tcp --dport 5000 -m comment --comment wharf:abababababab -j DNAT --to-destination 10.213.0.2:5000",
    "-A WHARF-POSTROUTING -s 10.213.0.0/16 ! -o wharf0 -j MASQUERADE",
    "-A WHARF-POSTROUTING -o wharf0 -m addrtype --src-type LOCAL -j MASQUERADE",
    "-A WHARF-POSTROUTING -o br-123 -m addrtype --src-type LOCAL -j MASQUERADE",
    "-A WHARF-POSTROUTING -s 10.213.0.2/32 -d 10.213.0.2/32 -p tcp -m tcp --dport 5000 -j MASQUERADE",
  ]);
  const bound = renderTable(c, "nat", { networks: [], ports: [{ ...state.ports[0]!, hostIp: "127.0.0.1" }] });
  assert.match(bound[0]!, /^-A WHARF -d 127\.0\.0\.1\/32 -p tcp/);
});

test("filter: isolation between networks, internal networks cut off", () => {
  const rules = renderTable(c, "filter", state);
  assert.equal(rules[0], "-A WHARF-FORWARD -j WHARF-ISOLATION-1");
  assert.ok(rules.includes("-A WHARF-ISOLATION-1 -i wharf0 ! -o wharf0 -j WHARF-ISOLATION-2"));
  assert.ok(rules.includes("-A WHARF-ISOLATION-2 -o br-123 -j DROP"));
  assert.ok(rules.includes("-A WHARF-FORWARD -i br-123 ! -o br-123 -j DROP"));
  assert.ok(!rules.includes("-A WHARF-FORWARD -i wharf0 ! -o wharf0 -j DROP"));
  assert.deepEqual(rules.slice(-2), ["-A WHARF-ISOLATION-1 -j RETURN", "-A WHARF-ISOLATION-2 -j RETURN"]);
});

test("hooks are found in iptables-save output, duplicates counted", () => {
  const saved = [
    "*nat",
    ":PREROUTING ACCEPT [0:0]",
    "-A PREROUTING -m addrtype --dst-type LOCAL -j WHARF",
    "-A PREROUTING -m addrtype --dst-type LOCAL -j WHARF",
    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    "COMMIT",
    "*filter",
    "-A FORWARD -j WHARF-FORWARD",
    "COMMIT",
  ].join("\n");
  const present = presentHooks(c, saved);
  assert.equal(present.get("nat -A PREROUTING -m addrtype --dst-type LOCAL -j WHARF"), 2);
  assert.equal(present.get("filter -A FORWARD -j WHARF-FORWARD"), 1);
  assert.equal(present.size, 2);
});
