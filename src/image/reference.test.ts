import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors.js";
import {
  familiarName,
  familiarString,
  formatReference,
  parseAnyReference,
  parseNormalizedTagged,
  parseReference,
} from "./reference.js";

const hex = "a".repeat(64);

describe("parseReference", () => {
  const cases: [string, string, string][] = [
    // input, normalized full string (with default tag), familiar string
    ["busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"],
    ["library/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"],
    ["user/app:1", "docker.io/user/app:1", "user/app:1"],
    ["user/sub/app", "docker.io/user/sub/app:latest", "user/sub/app:latest"],
    ["localhost/x", "localhost/x:latest", "localhost/x:latest"],
    ["localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"],
    ["localhost:5000/a/b:v1.2-rc_3", "localhost:5000/a/b:v1.2-rc_3", "localhost:5000/a/b:v1.2-rc_3"],
    ["quay.io/coreos/etcd", "quay.io/coreos/etcd:latest", "quay.io/coreos/etcd:latest"],
    ["Example.com/foo", "Example.com/foo:latest", "Example.com/foo:latest"],
    ["[::1]:5000/x", "[::1]:5000/x:latest", "[::1]:5000/x:latest"],
    ["UPPER/case", "UPPER/case:latest", "UPPER/case:latest"],
    ["127.0.0.1:5000/library/debian", "127.0.0.1:5000/library/debian:latest", "127.0.0.1:5000/library/debian:latest"],
    ["[fc00:1:2:3:4:5:6:7]:5000/library/debian", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest", "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest"],
    [`docker.io/${"1a".repeat(32)}`, `docker.io/library/${"1a".repeat(32)}:latest`, `${"1a".repeat(32)}:latest`],
    ["a__b/c--d.e", "docker.io/a__b/c--d.e:latest", "a__b/c--d.e:latest"],
    [`busybox@sha256:${hex}`, `docker.io/library/busybox@sha256:${hex}`, `busybox@sha256:${hex}`],
    [`busybox:1@sha256:${hex}`, `docker.io/library/busybox:1@sha256:${hex}`, `busybox:1@sha256:${hex}`],
  ];
  for (const [input, full, familiar] of cases) {
    it(`normalizes ${input}`, () => {
      const ref = parseNormalizedTagged(input);
      assert.equal(formatReference(ref), full);
      assert.equal(familiarString(ref), familiar);
    });
  }

  it("splits domain and path and leaves the tag out unless given", () => {
    const r = parseReference("localhost:5000/team/app");
    assert.equal(r.domain, "localhost:5000");
    assert.equal(r.path, "team/app");
    assert.equal(r.name, "localhost:5000/team/app");
    assert.equal(r.tag, undefined);
    assert.equal(familiarName(r), "localhost:5000/team/app");
    assert.equal(familiarName(parseReference("busybox:1")), "busybox");
    assert.equal(familiarName(parseReference("library/a/b")), "library/a/b");
  });

  const invalid = [
    "",
    // An uppercase first component is a registry host (distribution/reference
    // since v0.6, `Docker/docker` is valid); uppercase in the path is not.
    "upper/Case",
    "docker.io/UPPER/case",
    "Busybox",
    "docker/Docker",
    "docker///docker",
    "-docker/docker",
    "docker-/docker",
    "____/____",
    "dock..er/docker",
    "dock_.er/docker",
    "https://github.com/docker/docker",
    "[fc00::1]:5000",
    "fc00::1:5000/debian",
    "docker.io/Library/busybox",
    "a//b",
    "/a",
    "a/",
    "a:",
    "a@",
    ":tag",
    `busybox:${"t".repeat(129)}`,
    "busybox:-tag",
    "busybox:.tag",
    "a_-b",
    "-a",
    "a-",
    "a..b",
    "a b",
    `${"a".repeat(256)}`,
    hex,
    "busybox@sha256:abc",
    `busybox@md5:${hex}`,
    "localhost:port/x",
    "../x",
  ];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input.length > 40 ? input.slice(0, 40) + "…" : input)}`, () => {
      assert.throws(() => parseReference(input), InvalidArgumentError);
    });
  }
  it("accepts a 128-char tag", () => {
    assert.equal(parseReference(`busybox:${"t".repeat(128)}`).tag!.length, 128);
  });
});

describe("parseAnyReference", () => {
  it("treats 64 hex and sha256:<hex> as IDs", () => {
    assert.deepEqual(parseAnyReference(hex), { kind: "id", id: `sha256:${hex}` });
    assert.deepEqual(parseAnyReference(`sha256:${hex}`), { kind: "id", id: `sha256:${hex}` });
    const named = parseAnyReference("abc123");
    assert.equal(named.kind, "named");
  });
});
