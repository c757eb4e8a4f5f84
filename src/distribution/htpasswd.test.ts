import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HtpasswdFile, parseHtpasswd } from "./htpasswd.js";

// Written by Apache's `htpasswd -nbB alice 'correct horse'` and `htpasswd -nbm carol x`.
const alice = "alice:$2y$05$XZhzeR0pgY95jz0V/kjbPu7Yy9qFXxLm6aMibd1zYV8YsbynZDzPC";
const carol = "carol:$apr1$IePcUbk6$Ssqio9pcqtqtqcmTlG4NC/";

test("parse keeps bcrypt entries and says why it skipped the rest", () => {
  const { users, skipped } = parseHtpasswd(`# users\n${alice}\n\n${carol}\nnocolon\n`);
  assert.deepEqual([...users.keys()], ["alice"]);
  assert.equal(skipped.length, 2);
  assert.match(skipped[0]!, /carol.*bcrypt/);
});

test("verify: htpasswd -B entries, wrong passwords, unknown users, reload on change", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wharf-htpasswd-"));
  try {
    const path = join(dir, "htpasswd");
    await writeFile(path, `${alice}\n`);
    const f = await HtpasswdFile.load(path);
    assert.equal(await f.verify("alice", "correct horse"), true);
    assert.equal(await f.verify("alice", "correct horse"), true, "cached check");
    assert.equal(await f.verify("alice", "wrong"), false);
    assert.equal(await f.verify("bob", "correct horse"), false);
    await writeFile(path, "bob:$2y$05$dPm2CmNlQNFbqO3d8BVd3etCNoldQA0cnHTif5eb5F3hGdMDEB6f.\n");
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await f.verify("bob", "hunter2"), true);
    assert.equal(await f.verify("alice", "correct horse"), false, "removed users are forgotten, cache included");
    await assert.rejects(HtpasswdFile.load(join(dir, "missing")), /cannot read htpasswd/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
