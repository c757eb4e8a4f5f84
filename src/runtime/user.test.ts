import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, writeFile, rm, symlink } from "node:fs/promises";
import { join } from "node:path";
import { resolveUser } from "./user.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { InvalidArgumentError } from "../lib/errors.js";

describe("resolveUser", () => {
  let root: string;
  before(async () => {
    root = await mkdtemp("/tmp/wharf-test-user-");
    await mkdir(join(root, "etc"));
    await writeFile(
      join(root, "etc/passwd"),
      "# comment\nroot:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\nbob:x:1001:1001::/home/bob:/bin/sh\n",
    );
    await writeFile(join(root, "etc/group"), "root:x:0:\nwww:x:33:bob\nstaff:x:50:bob,www\nbob:x:1001:\n");
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("empty means root", async () => {
    assert.deepEqual(await resolveUser(root, ""), { uid: 0, gid: 0, additionalGids: [], home: "/root" });
  });
  it("by name, with supplementary groups", async () => {
    assert.deepEqual(await resolveUser(root, "bob"), { uid: 1001, gid: 1001, additionalGids: [33, 50], home: "/home/bob" });
  });
  it("by uid, known and unknown", async () => {
    assert.deepEqual(await resolveUser(root, "33"), { uid: 33, gid: 33, additionalGids: [50], home: "/var/www" });
    assert.deepEqual(await resolveUser(root, "4242"), { uid: 4242, gid: 0, additionalGids: [], home: "/" });
  });
  it("user:group and uid:gid; an explicit group drops supplementary ones", async () => {
    assert.deepEqual(await resolveUser(root, "bob:staff"), { uid: 1001, gid: 50, additionalGids: [], home: "/home/bob" });
    assert.deepEqual(await resolveUser(root, "4242:777"), { uid: 4242, gid: 777, additionalGids: [], home: "/" });
    assert.deepEqual(await resolveUser(root, "www:0"), { uid: 33, gid: 0, additionalGids: [], home: "/var/www" });
  });
  it("unknown names are errors with Docker's messages", async () => {
    await assert.rejects(resolveUser(root, "alice"), {
      name: "InvalidArgumentError",
      message: "unable to find user alice: no matching entries in passwd file",
    });
    await assert.rejects(resolveUser(root, "bob:nogroup"), {
      message: "unable to find group nogroup: no matching entries in group file",
    });
    await assert.rejects(resolveUser(root, "99999999999"), InvalidArgumentError);
  });
  it("works without /etc/passwd", async () => {
    const empty = await mkdtemp("/tmp/wharf-test-user-");
    try {
      assert.deepEqual(await resolveUser(empty, "5:6"), { uid: 5, gid: 6, additionalGids: [], home: "/" });
      await assert.rejects(resolveUser(empty, "nobody"), InvalidArgumentError);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
  it("follows symlinks inside the root only", async () => {
    await mkdir(join(root, "real"));
    await symlink("/real", join(root, "abs"));
    await symlink("../../../../real", join(root, "up"));
    assert.equal(await resolveInRoot(root, "/abs/x"), join(root, "real/x"));
    assert.equal(await resolveInRoot(root, "/up/x"), join(root, "real/x"));
    assert.equal(await resolveInRoot(root, "/../../etc/passwd"), join(root, "etc/passwd"));
  });
});
