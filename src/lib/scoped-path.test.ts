import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, symlink, rm } from "node:fs/promises";
import { join } from "node:path";
import { resolveInRoot } from "./scoped-path.js";
import { InvalidArgumentError } from "./errors.js";

const root = await mkdtemp("/tmp/wharf-test-scoped-");
after(() => rm(root, { recursive: true, force: true }));
await mkdir(join(root, "etc"));
await symlink("/", join(root, "escape-abs"));
await symlink("../../../..", join(root, "etc", "escape-rel"));
await symlink("/etc", join(root, "etclink"));
await symlink("loop", join(root, "loop"));

test("`..` and absolute symlinks stay inside the root", async () => {
  assert.equal(await resolveInRoot(root, "../../etc/passwd"), join(root, "etc/passwd"));
  assert.equal(await resolveInRoot(root, "escape-abs/etc/passwd"), join(root, "etc/passwd"));
  assert.equal(await resolveInRoot(root, "etc/escape-rel/etc/shadow"), join(root, "etc/shadow"));
  assert.equal(await resolveInRoot(root, "etclink/hosts"), join(root, "etc/hosts"));
});

test("followFinal: false keeps the last symlink itself", async () => {
  assert.equal(await resolveInRoot(root, "etclink", { followFinal: false }), join(root, "etclink"));
  assert.equal(await resolveInRoot(root, "etclink"), join(root, "etc"));
});

test("symlink loops fail clearly", async () => {
  await assert.rejects(resolveInRoot(root, "loop/x"), InvalidArgumentError);
});
