import { test } from "node:test";
import assert from "node:assert/strict";
import { SubnetAllocator, firstFreeSubnet, formatCidr, formatIpv4, macForIp, overlaps, parseCidr, parseIpv4 } from "./ipam.js";
import { ConflictError, InvalidArgumentError } from "../lib/errors.js";

test("parse and format IPv4 addresses and prefixes", () => {
  assert.equal(formatIpv4(parseIpv4("10.213.0.1")!), "10.213.0.1");
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  for (const bad of ["10.0.0", "10.0.0.256", "a.b.c.d", "01.2.3.4", ""]) assert.equal(parseIpv4(bad), null, bad);
  assert.equal(formatCidr(parseCidr("10.1.0.0/16")), "10.1.0.0/16");
  assert.throws(() => parseCidr("10.1.2.3/16"), /it should be 10\.1\.0\.0\/16/);
  const bip = parseCidr("10.213.0.1/16", false);
  assert.equal(formatCidr(bip), "10.213.0.0/16");
  assert.equal(formatIpv4(bip.address), "10.213.0.1");
  for (const bad of ["10.0.0.0", "10.0.0.0/33", "10.0.0.0/x", "10.0.0.0/"]) assert.throws(() => parseCidr(bad), InvalidArgumentError, bad);
});

test("overlap and free-subnet search", () => {
  assert.equal(overlaps(parseCidr("10.0.0.0/8"), parseCidr("10.5.0.0/16")), true);
  assert.equal(overlaps(parseCidr("10.5.0.0/16"), parseCidr("10.6.0.0/16")), false);
  const pool = parseCidr("10.214.0.0/16");
  assert.equal(formatCidr(firstFreeSubnet(pool, 24, [])!), "10.214.0.0/24");
  assert.equal(formatCidr(firstFreeSubnet(pool, 24, [parseCidr("10.214.0.0/23"), parseCidr("10.214.3.0/24")])!), "10.214.2.0/24");
  assert.equal(firstFreeSubnet(parseCidr("10.0.0.0/24"), 24, [parseCidr("10.0.0.0/8")]), null);
});

test("allocator skips network, broadcast and gateway, never hands out an address twice, goes round-robin", () => {
  const a = new SubnetAllocator(parseCidr("10.9.0.0/29"), parseIpv4("10.9.0.1")!);
  const got = [a.allocate(), a.allocate(), a.allocate()].map(formatIpv4);
  assert.deepEqual(got, ["10.9.0.2", "10.9.0.3", "10.9.0.4"]);
  a.release(parseIpv4("10.9.0.2")!);
  // Round-robin: the address just released comes back last.
  assert.deepEqual([a.allocate(), a.allocate(), a.allocate()].map(formatIpv4), ["10.9.0.5", "10.9.0.6", "10.9.0.2"]);
  assert.throws(() => a.allocate(), ConflictError);
  assert.throws(() => a.reserve(parseIpv4("10.9.0.3")!), /Address already in use/);
  assert.throws(() => a.reserve(parseIpv4("10.9.0.1")!), InvalidArgumentError);
  assert.throws(() => a.reserve(parseIpv4("10.9.1.1")!), InvalidArgumentError);
});

test("allocator honours an IP range and reserved leases", () => {
  const a = new SubnetAllocator(parseCidr("10.9.0.0/24"), parseIpv4("10.9.0.1")!, parseCidr("10.9.0.128/25"));
  a.reserve(parseIpv4("10.9.0.128")!);
  assert.equal(formatIpv4(a.allocate()), "10.9.0.129");
  assert.equal(a.usedCount, 2);
});

test("MACs derive from the address like Docker's", () => {
  assert.equal(macForIp(parseIpv4("172.17.0.2")!), "02:42:ac:11:00:02");
});
