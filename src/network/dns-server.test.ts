import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import { DnsServer, parseUpstream, ptrToIp, type DnsResolver } from "./dns-server.js";
import { silentLogger } from "../lib/logger.js";

function ask(port: number, name: string, type: "A" | "AAAA" = "A"): Promise<dnsPacket.DecodedPacket & { rcode?: string }> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => {
      s.close();
      reject(new Error("timeout"));
    }, 3000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(dnsPacket.encode({ type: "query", id: 99, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name }] }), port, "127.0.0.1");
  });
}

function resolver(over: Partial<DnsResolver>): DnsResolver {
  return { allowed: () => true, lookup: () => null, reverse: () => null, upstreams: () => [], ...over };
}

test("answers known names, refuses strangers, SERVFAIL when no upstream answers", async () => {
  let allowed = true;
  const server = await DnsServer.start({
    address: "127.0.0.1",
    port: 0,
    log: silentLogger,
    timeoutMs: 100,
    // An upstream that never answers: a bound socket that reads nothing.
    resolver: resolver({ allowed: () => allowed, lookup: (_c, n) => (n === "web" ? ["10.0.0.7", "10.0.0.8"] : null), upstreams: () => ["127.0.0.1:9"] }),
  });
  try {
    const r = await ask(server.port, "Web.");
    assert.equal(r.id, 99);
    assert.equal(r.flag_aa, true);
    assert.equal(r.flag_rd, true);
    assert.deepEqual((r.answers ?? []).map((a) => (a as { data: unknown }).data), ["10.0.0.7", "10.0.0.8"]);
    assert.equal((await ask(server.port, "nothing-here")).rcode, "SERVFAIL");
    allowed = false;
    assert.equal((await ask(server.port, "web")).rcode, "REFUSED");
  } finally {
    await server.close();
  }
});

test("helpers", () => {
  assert.equal(ptrToIp("4.3.2.10.in-addr.arpa"), "10.2.3.4");
  assert.equal(ptrToIp("example.com"), null);
  assert.deepEqual(parseUpstream("10.0.0.1"), { host: "10.0.0.1", port: 53 });
  assert.deepEqual(parseUpstream("127.0.0.1:5353"), { host: "127.0.0.1", port: 5353 });
  assert.deepEqual(parseUpstream("[::1]:54"), { host: "::1", port: 54 });
  assert.deepEqual(parseUpstream("::1"), { host: "::1", port: 53 });
});
