import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBind } from "./mounts.js";
import { InvalidArgumentError } from "../lib/errors.js";

test("parseBind: host bind with mode", () => {
  assert.deepEqual(parseBind("/srv/data:/data:ro"), { type: "bind", source: "/srv/data", target: "/data", readOnly: true, mode: "ro" });
});

test("parseBind: named and anonymous volumes", () => {
  assert.equal(parseBind("cache:/var/cache").type, "volume");
  assert.equal(parseBind("cache:/var/cache").source, "cache");
  const anon = parseBind("/scratch");
  assert.equal(anon.type, "volume");
  assert.equal(anon.source, undefined);
  assert.equal(parseBind("/scratch:ro").readOnly, true);
});

test("parseBind: rejects what Docker rejects", () => {
  for (const bad of ["/host:", ":/ctr", "/a:b:c:d", "/host:relative", "/host:/:ro", "/host:/ctr:bogus", "relative"]) {
    assert.throws(() => parseBind(bad), InvalidArgumentError, bad);
  }
});
