import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ok, TestDaemon } from "./support/daemon.js";
import { Dockerd } from "./support/dockerd.js";
import { ChildRegistry, cleanupTempDirs, tempDir } from "./support/registry.js";

/**
 * Wharf and a real Docker engine (Debian's dockerd, started here on roots of
 * its own) exchanging images: `docker push`/`docker pull` by dockerd against
 * `wharf registry`, and archives written by one engine loaded by the other.
 */
const p = `wharftest-${randomBytes(3).toString("hex")}`;


describe("interoperability with a real dockerd", () => {
  let wharf: TestDaemon;
  let dockerd: Dockerd;
  let registry: ChildRegistry;
  let tmp: string;

  before(async () => {
    tmp = await tempDir("wharf-test-interop-");
    [wharf, dockerd, registry] = await Promise.all([TestDaemon.start(), Dockerd.start(), ChildRegistry.start(join(tmp, "registry"))]);
    // Docker's side gets the same busybox, through its own `docker load`.
    ok(await wharf.wharf(["save", "-o", join(tmp, "busybox.tar"), "busybox"]), "wharf save busybox");
    ok(await dockerd.docker(["load", "-i", join(tmp, "busybox.tar")]), "docker load");
  });
  after(async () => {
    await Promise.allSettled([wharf?.stop(), dockerd?.stop(), registry?.stop()]);
    await cleanupTempDirs();
  });

  const dockerImageId = async (ref: string) => ok(await dockerd.docker(["image", "inspect", "-f", "{{.Id}}", ref]), `docker inspect ${ref}`).stdout.trim();
  const wharfImageId = async (ref: string) => ok(await wharf.wharf(["image", "inspect", "-f", "{{.Id}}", ref]), `wharf inspect ${ref}`).stdout.trim();

  test("(e) an image saved by wharf loads in Docker with the same ID, and one saved by Docker loads and runs in wharf", async () => {
    // Two layers, so the shared-base bookkeeping is exercised too.
    ok(await wharf.wharf(["run", "--name", `${p}-mk`, "busybox", "sh", "-c", "echo made-by-wharf > /origin"]), "run");
    ok(await wharf.wharf(["commit", "-c", 'CMD ["cat", "/origin"]', `${p}-mk`, `${p}/fromwharf:1`]), "commit");
    ok(await wharf.wharf(["rm", `${p}-mk`]), "rm");
    const id = await wharfImageId(`${p}/fromwharf:1`);
    ok(await wharf.wharf(["save", "-o", join(tmp, "fromwharf.tar"), `${p}/fromwharf:1`]), "wharf save");
    const loaded = ok(await dockerd.docker(["load", "-i", join(tmp, "fromwharf.tar")]), "docker load");
    assert.match(loaded.stdout, new RegExp(`Loaded image: ${p}/fromwharf:1`));
    assert.equal(await dockerImageId(`${p}/fromwharf:1`), id);
    assert.equal(ok(await dockerd.docker(["image", "inspect", "-f", "{{json .Config.Cmd}}", `${p}/fromwharf:1`]), "cmd").stdout.trim(), '["cat","/origin"]');

    // Docker's own archive (its layout, its tags) back into wharf, then run there.
    ok(await dockerd.docker(["tag", `${p}/fromwharf:1`, `${p}/fromdocker:2`]), "docker tag");
    ok(await dockerd.docker(["save", "-o", join(tmp, "fromdocker.tar"), `${p}/fromdocker:2`]), "docker save");
    const back = ok(await wharf.wharf(["load", "-i", join(tmp, "fromdocker.tar")]), "wharf load");
    assert.match(back.stdout, new RegExp(`Loaded image: ${p}/fromdocker:2`));
    assert.equal(await wharfImageId(`${p}/fromdocker:2`), id);
    assert.equal(ok(await wharf.wharf(["run", "--rm", `${p}/fromdocker:2`]), "run").stdout, "made-by-wharf\n");
  });

  test("(a) dockerd pushes to and pulls from `wharf registry`; wharf pulls what Docker pushed", async () => {
    const ref = `${registry.hostPort}/${p}/busybox:interop`;
    const busyboxId = await dockerImageId("busybox");
    ok(await dockerd.docker(["tag", "busybox", ref]), "docker tag");
    const pushed = ok(await dockerd.docker(["push", ref]), "docker push");
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    assert.ok(digest, `docker push names the manifest digest:\n${pushed.stdout}`);
    // A second push finds every layer in place.
    assert.match(ok(await dockerd.docker(["push", ref]), "docker push again").stdout, /Layer already exists/);

    ok(await dockerd.docker(["rmi", ref]), "docker rmi");
    ok(await dockerd.docker(["rmi", "busybox"]), "docker rmi busybox");
    const pulled = ok(await dockerd.docker(["pull", ref]), "docker pull");
    assert.match(pulled.stdout, new RegExp(`Digest: ${digest}`));
    assert.equal(await dockerImageId(ref), busyboxId, "the same image came back");
    ok(await dockerd.docker(["pull", `${registry.hostPort}/${p}/busybox@${digest}`]), "docker pull by digest");

    // What Docker pushed (gzip'd by Docker) is an image wharf pulls, verifies and runs.
    ok(await wharf.wharf(["pull", ref]), "wharf pull");
    assert.equal(await wharfImageId(ref), busyboxId);
    assert.equal(ok(await wharf.wharf(["run", "--rm", ref, "echo", "pulled from what docker pushed"]), "run").stdout, "pulled from what docker pushed\n");

    // And the other way: wharf pushes, dockerd pulls.
    const ours = `${registry.hostPort}/${p}/fromwharf:1`;
    ok(await wharf.wharf(["tag", `${p}/fromwharf:1`, ours]), "wharf tag");
    ok(await wharf.wharf(["push", ours]), "wharf push");
    ok(await dockerd.docker(["rmi", `${p}/fromwharf:1`]), "docker rmi");
    ok(await dockerd.docker(["pull", ours]), "docker pull of wharf's push");
    assert.equal(await dockerImageId(ours), await wharfImageId(ours));

    const missing = await dockerd.docker(["pull", `${registry.hostPort}/${p}/nothing:here`]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /manifest unknown|not found/);
  });
});
