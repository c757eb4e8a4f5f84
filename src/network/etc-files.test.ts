import { test } from "node:test";
import assert from "node:assert/strict";
import { parseExtraHost, parseResolvConf, renderEmbeddedResolvConf, renderHosts, renderPlainResolvConf, selfNames, upstreamsFor } from "./etc-files.js";
import { InvalidArgumentError } from "../lib/errors.js";

const host = parseResolvConf("# comment\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nnameserver fd00::1\nsearch corp.example\noptions edns0 trust-ad\n");

test("hosts: defaults, extra hosts, links, self", () => {
  const text = renderHosts({
    extraHosts: [parseExtraHost("db:10.1.2.3", "10.213.0.1"), parseExtraHost("gw=host-gateway", "10.213.0.1"), parseExtraHost("v6:fd00::5", "")],
    links: [{ ip: "10.213.0.5", names: ["webdb", "abcdef123456", "db_1"] }],
    self: [{ ip: "10.213.0.2", names: selfNames("web", "example.org") }],
  });
  const lines = text.trimEnd().split("\n");
  assert.equal(lines[0], "127.0.0.1\tlocalhost");
  assert.deepEqual(lines.slice(6), [
    "10.1.2.3\tdb",
    "10.213.0.1\tgw",
    "fd00::5\tv6",
    "10.213.0.5\twebdb abcdef123456 db_1",
    "10.213.0.2\tweb.example.org web",
  ]);
  assert.throws(() => parseExtraHost("nohost", ""), InvalidArgumentError);
  assert.throws(() => parseExtraHost("x:notanip", ""), InvalidArgumentError);
});

test("resolv.conf without the embedded DNS drops loopback nameservers; --dns overrides", () => {
  assert.deepEqual(host.nameservers, ["127.0.0.53", "10.0.0.2", "fd00::1"]);
  assert.equal(renderPlainResolvConf(host, {}), "nameserver 10.0.0.2\nsearch corp.example\noptions edns0 trust-ad\n");
  assert.equal(renderPlainResolvConf(parseResolvConf("nameserver 127.0.0.1\n"), {}), "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  assert.equal(
    renderPlainResolvConf(host, { dns: ["1.1.1.1"], dnsSearch: ["a.example"], dnsOptions: ["ndots:2"] }),
    "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2\n",
  );
});

test("resolv.conf with the embedded DNS names the gateway, ndots:0 unless set", () => {
  assert.equal(renderEmbeddedResolvConf("10.214.0.1", host, {}), "nameserver 10.214.0.1\nsearch corp.example\noptions edns0 trust-ad ndots:0\n");
  assert.equal(renderEmbeddedResolvConf("10.214.0.1", host, { dnsOptions: ["ndots:3"] }), "nameserver 10.214.0.1\nsearch corp.example\noptions ndots:3\n");
  // The forwarder runs on the host: loopback upstreams stay usable.
  assert.deepEqual(upstreamsFor(host, undefined), ["127.0.0.53", "10.0.0.2", "fd00::1"]);
  assert.deepEqual(upstreamsFor(host, ["9.9.9.9"]), ["9.9.9.9"]);
});
