import assert from "node:assert/strict";
import { test } from "node:test";
import { checkDigest, checkName, checkTag, isRepositoryName, isTag, isUploadId, parseReference } from "./names.js";
import { registryCodeOf } from "./registry-errors.js";

const hex = "a".repeat(64);

test("repository names follow the spec's grammar", () => {
  for (const ok of ["a", "library/busybox", "a0/b-c/d_e/f.g", "a__b", "a---b", "x/y/z/w", `${"a".repeat(255)}`]) {
    assert.ok(isRepositoryName(ok), ok);
  }
  for (const bad of ["", "A", "a/", "/a", "a//b", "a/../b", "..", ".", "a/./b", "_a", "a/_blobs", "a_", "a-", "a.", "a___b", "a._b", "a:b", "a b", "a\\b", `${"a".repeat(256)}`, "a\0b"]) {
    assert.ok(!isRepositoryName(bad), JSON.stringify(bad));
  }
});

test("tags: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}", () => {
  for (const ok of ["latest", "v1.2.3", "_x", "A-b_c.d", "1".repeat(128)]) assert.ok(isTag(ok), ok);
  for (const bad of ["", ".x", "-x", "a/b", "a:b", "..", "1".repeat(129), "a b"]) assert.ok(!isTag(bad), JSON.stringify(bad));
});

test("check* throw the spec's codes", () => {
  assert.equal(checkName("a/b"), "a/b");
  assert.equal(registryCodeOf(catchErr(() => checkName("../etc"))), "NAME_INVALID");
  assert.equal(registryCodeOf(catchErr(() => checkTag(".hidden"))), "TAG_INVALID");
  assert.equal(checkDigest(`sha256:${hex}`), `sha256:${hex}`);
  for (const bad of [undefined, null, "", `sha256:${"A".repeat(64)}`, `sha256:${hex.slice(1)}`, `sha512:${"b".repeat(128)}`, "sha256:../../x", "nope"]) {
    assert.equal(registryCodeOf(catchErr(() => checkDigest(bad))), "DIGEST_INVALID", String(bad));
  }
  assert.match((catchErr(() => checkDigest(`sha512:${"b".repeat(128)}`)) as Error).message, /only sha256/);
});

test("a reference is a digest when it has a colon, else a tag", () => {
  assert.deepEqual(parseReference("v1"), { tag: "v1" });
  assert.deepEqual(parseReference(`sha256:${hex}`), { digest: `sha256:${hex}` });
  assert.equal(registryCodeOf(catchErr(() => parseReference("sha256:zz"))), "DIGEST_INVALID");
  assert.equal(registryCodeOf(catchErr(() => parseReference("-v"))), "TAG_INVALID");
});

test("upload ids are lowercase UUIDs", () => {
  assert.ok(isUploadId("759bd88a-931b-419b-87f1-cea071dd9fc5"));
  assert.ok(!isUploadId("759BD88A-931B-419B-87F1-CEA071DD9FC5"));
  assert.ok(!isUploadId("../759bd88a-931b-419b-87f1-cea071dd9fc5"));
  assert.ok(!isUploadId(".trash-759bd88a-931b-419b-87f1-cea071dd9fc5"));
});

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  assert.fail("expected a throw");
}
