import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile, readdir, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import Docker from "dockerode";
import { TestDaemon } from "./support/daemon.js";

/**
 * Dockerfile builds through the real daemon: the tutorial's Dockerfiles
 * (foobar with its `RUN export` gotcha, coolapp with an ADDed font archive,
 * anotherapp on top of coolapp), multi-stage builds, the cache, build args,
 * .dockerignore, failures; with our CLI, the real `docker build` (classic
 * builder) and dockerode.
 */
const exec = promisify(execFile);
const p = `wharftest-${randomBytes(3).toString("hex")}`;
let daemon: TestDaemon;
let work: string;

before(async () => {
  daemon = await TestDaemon.start();
  work = await mkdtemp("/tmp/wharf-test-build-");
});
after(async () => {
  await daemon?.stop();
  await rm(work, { recursive: true, force: true });
});

async function context(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, ".."), { recursive: true });
    await writeFile(join(dir, path), content, { mode: path.endsWith(".sh") ? 0o755 : 0o644 });
  }
  return dir;
}

async function ok(args: string[]): Promise<string> {
  const r = await daemon.wharf(args);
  assert.equal(r.code, 0, `wharf ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Containers the daemon knows (build containers must all be gone). */
async function containerCount(): Promise<number> {
  return (await ok(["ps", "-aq"])).split("\n").filter(Boolean).length;
}

test("the tutorial's Dockerfile: RUN export does not persist, ENV does, CMD runs with it", async () => {
  const dir = await context("foobar", {
    Dockerfile: [
      "FROM busybox",
      "# each RUN is a fresh container",
      "RUN export foo=bar",
      "RUN echo \"foo is [${foo}]\"",
      "ENV foo bar",
      "CMD echo $foo",
      "",
    ].join("\n"),
  });
  const before = await containerCount();
  const out = await ok(["build", "-t", `${p}-foobar`, dir]);
  assert.match(out, /Step 1\/5 : FROM busybox/);
  assert.match(out, /Step 3\/5 : RUN echo "foo is \[\$\{foo\}\]"\n ---> Running in [0-9a-f]{12}\nfoo is \[\]\n/);
  assert.match(out, /Successfully built [0-9a-f]{12}\nSuccessfully tagged wharftest-[0-9a-f]+-foobar:latest\n/);
  assert.equal(await ok(["run", "--rm", `${p}-foobar`]), "bar\n");
  assert.equal(await ok(["run", "--rm", `${p}-foobar`, "sh", "-c", "echo $foo"]), "bar\n");
  const cmd = await ok(["inspect", "-f", "{{json .Config.Cmd}}", `${p}-foobar`]);
  assert.equal(cmd.trim(), '["/bin/sh","-c","echo $foo"]');
  assert.equal(await containerCount(), before, "build containers are removed");

  // The second build is all cache, and yields the same image.
  const again = await ok(["build", "-t", `${p}-foobar`, dir]);
  assert.equal(again.match(/---> Using cache/g)?.length, 4);
  assert.doesNotMatch(again, /Running in/);
  const id1 = /Successfully built ([0-9a-f]{12})/.exec(out)![1];
  const id2 = /Successfully built ([0-9a-f]{12})/.exec(again)![1];
  assert.equal(id2, id1);
});

test("coolapp and anotherapp: ADD extracts an archive, COPY, WORKDIR, a child image inherits", async () => {
  const fonts = join(work, "fonts-src");
  await mkdir(join(fonts, "truetype"), { recursive: true });
  await writeFile(join(fonts, "truetype", "Font.ttf"), "not really a font\n");
  const cool = await context("coolapp", {
    "coolapp.sh": "#!/bin/sh\necho \"Hello I'm production code!\"\n",
    "coolapp-dev.sh": "#!/bin/sh\necho \"Hello I'm dev code!\"\n",
    Dockerfile: [
      "FROM busybox",
      "ADD fonts.tar.gz /usr/share/fonts/",
      "COPY coolapp.sh /usr/local/bin/coolapp",
      "WORKDIR /srv/app",
      "RUN pwd > where && ls /usr/share/fonts/truetype",
      "CMD [\"/usr/local/bin/coolapp\"]",
    ].join("\n"),
  });
  await exec("tar", ["-czf", join(cool, "fonts.tar.gz"), "-C", fonts, "truetype"]);
  const out = await ok(["build", "-t", `${p}-coolapp`, cool]);
  assert.match(out, /Font\.ttf/);
  assert.equal(await ok(["run", "--rm", `${p}-coolapp`]), "Hello I'm production code!\n");
  assert.equal(await ok(["run", "--rm", `${p}-coolapp`, "cat", "where"]), "/srv/app\n");
  // The tutorial's dev loop: a bind mount over the baked-in file.
  assert.equal(await ok(["run", "--rm", "-v", `${join(cool, "coolapp-dev.sh")}:/usr/local/bin/coolapp`, `${p}-coolapp`]), "Hello I'm dev code!\n");

  const another = await context("anotherapp", {
    "anotherapp.cfg": "production\n",
    "anotherapp.sh": "#!/bin/sh\nwhile true; do cat /etc/anotherapp.cfg; sleep 1; done\n",
    Dockerfile: [
      `FROM ${p}-coolapp`,
      "COPY anotherapp.cfg /etc/anotherapp.cfg",
      "COPY anotherapp.sh /usr/local/bin/anotherapp",
      "CMD /usr/local/bin/anotherapp",
    ].join("\n"),
  });
  await ok(["build", "-t", `${p}-anotherapp`, another]);
  const id = (await ok(["run", "-d", "--name", `${p}-another`, `${p}-anotherapp`])).trim();
  try {
    await ok(["exec", id, "sh", "-c", "echo development > /etc/anotherapp.cfg"]);
    await new Promise((r) => setTimeout(r, 1500));
    const logs = await ok(["logs", id]);
    assert.match(logs, /^production\n/);
    assert.match(logs, /development\n$/);
    assert.match(await ok(["ps", "--filter", `name=${p}-another`, "--format", "{{.Command}}"]), /"\/bin\/sh -c \/usr\/loc/);
  } finally {
    await ok(["rm", "-f", id]);
  }
});

test("multi-stage: COPY --from a named stage, --target, unused stages skipped", async () => {
  const dir = await context("multi", {
    Dockerfile: [
      "ARG BASE=busybox",
      "FROM ${BASE} AS build",
      "RUN mkdir /out && printf '#!/bin/sh\\necho built binary\\n' > /out/tool && chmod 755 /out/tool",
      "FROM busybox AS unused",
      "RUN exit 7",
      "FROM busybox",
      "COPY --from=build /out/tool /usr/bin/tool",
      "COPY --from=0 --chmod=600 /out/tool /tool.copy",
      "ENTRYPOINT [\"tool\"]",
    ].join("\n"),
  });
  const out = await ok(["build", "-t", `${p}-multi`, dir]);
  assert.doesNotMatch(out, /exit 7/);
  assert.equal(await ok(["run", "--rm", `${p}-multi`]), "built binary\n");
  assert.equal(await ok(["run", "--rm", "--entrypoint", "stat", `${p}-multi`, "-c", "%a %u", "/tool.copy"]), "600 0\n");
  // Only the first stage: its layers, not the final one's.
  await ok(["build", "--target", "build", "-t", `${p}-multi-build`, dir]);
  assert.equal(await ok(["run", "--rm", `${p}-multi-build`, "/out/tool"]), "built binary\n");
  const missing = await daemon.wharf(["build", "--target", "nope", dir]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /failed to reach build target nope/);
});

test("cache: a changed file rebuilds from its COPY on, not before; --no-cache rebuilds all", async () => {
  const dir = await context("cache", {
    "a.txt": "one\n",
    "b.txt": "bee\n",
    Dockerfile: ["FROM busybox", "RUN echo early > /early", "COPY a.txt /a.txt", "RUN cat /a.txt > /copy", "COPY b.txt /b.txt", ""].join("\n"),
  });
  await ok(["build", "-t", `${p}-cache`, dir]);
  // Touching without changing keeps the cache: times are not part of the checksum.
  await exec("touch", [join(dir, "a.txt")]);
  const touched = await ok(["build", "-t", `${p}-cache`, dir]);
  assert.equal(touched.match(/Using cache/g)?.length, 4);
  await writeFile(join(dir, "a.txt"), "two\n");
  const changed = await ok(["build", "-t", `${p}-cache`, dir]);
  const steps = changed.split(/(?=Step \d)/).filter((s) => s.startsWith("Step"));
  assert.match(steps[1]!, /Using cache/, "RUN before the COPY stays cached");
  assert.doesNotMatch(steps[2]!, /Using cache/);
  assert.doesNotMatch(steps[3]!, /Using cache/);
  assert.doesNotMatch(steps[4]!, /Using cache/, "everything after a miss runs again");
  assert.equal(await ok(["run", "--rm", `${p}-cache`, "cat", "/copy"]), "two\n");
  const nocache = await ok(["build", "--no-cache", "-t", `${p}-cache`, dir]);
  assert.doesNotMatch(nocache, /Using cache/);

  // The cache survives a daemon restart; builder prune clears it.
  await daemon.crash();
  await daemon.launch();
  assert.equal((await ok(["build", dir])).match(/Using cache/g)?.length, 4);
  assert.match(await ok(["builder", "prune", "-f"]), /Total reclaimed space/);
  assert.doesNotMatch(await ok(["build", "-t", `${p}-cache`, dir]), /Using cache/);
});

test("build args, labels, .dockerignore, -f outside the context, -q and --iidfile", async () => {
  const dir = await context("args", {
    "keep.txt": "kept\n",
    "secret.key": "do not send\n",
    "logs/x.log": "noise\n",
    "logs/important.log": "keep me\n",
    ".dockerignore": "# comment\n*.key\nlogs\n!logs/important.log\n",
    Dockerfile: [
      "FROM busybox",
      "ARG GREETING=hello",
      "ARG WHO",
      "ENV MSG=\"${GREETING}, ${WHO:-nobody}\"",
      "COPY . /ctx/",
      "RUN echo \"run sees $GREETING\" > /run.txt",
      "LABEL stage=\"${GREETING}\"",
    ].join("\n"),
  });
  const out = await ok(["build", "--build-arg", "WHO=world", "--build-arg", "UNUSED=1", "--label", "team=infra", "-t", `${p}-args`, dir]);
  assert.match(out, /\[Warning\] One or more build-args \[UNUSED\] were not consumed/);
  assert.equal(await ok(["run", "--rm", `${p}-args`, "sh", "-c", "echo $MSG; cat /run.txt; ls -A /ctx /ctx/logs"]), "hello, world\nrun sees hello\n/ctx:\n.dockerignore\nDockerfile\nkeep.txt\nlogs\n\n/ctx/logs:\nimportant.log\n");
  // A build arg is not part of the image's environment.
  assert.equal((await ok(["inspect", "-f", "{{json .Config.Env}}", `${p}-args`])).includes("GREETING"), false);
  const labels = JSON.parse(await ok(["inspect", "-f", "{{json .Config.Labels}}", `${p}-args`])) as Record<string, string>;
  assert.deepEqual(labels, { stage: "hello", team: "infra" });

  const outside = join(work, "outside.Dockerfile");
  await writeFile(outside, "FROM busybox\nCOPY keep.txt /\nCMD [\"cat\", \"/keep.txt\"]\n");
  const iid = join(work, "iid");
  const q = await ok(["build", "-q", "-f", outside, "--iidfile", iid, dir]);
  assert.match(q, /^sha256:[0-9a-f]{64}\n$/);
  assert.equal(await readFile(iid, "utf8"), q.trim());
  assert.equal(await ok(["run", "--rm", q.trim()]), "kept\n");
});

test("heredocs, ADD of a URL, SHELL, HEALTHCHECK, ONBUILD triggers in a child build", async () => {
  const server: Server = createServer((_req, res) => res.end("downloaded\n"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    const dir = await context("heredoc", {
      Dockerfile: [
        "FROM busybox",
        "RUN <<EOF",
        "echo line one > /h.txt",
        "echo line two >> /h.txt",
        "EOF",
        "COPY <<EOF /etc/motd",
        "welcome",
        "EOF",
        `ADD http://127.0.0.1:${port}/file.txt /dl/`,
        "SHELL [\"/bin/sh\", \"-ec\"]",
        "HEALTHCHECK --interval=5s --retries=2 CMD true",
        "ONBUILD RUN echo triggered > /onbuild.txt",
      ].join("\n"),
    });
    // RUN steps must reach the host's loopback only through the bridge; keep the download on the daemon side.
    await ok(["build", "-t", `${p}-heredoc`, dir]);
    assert.equal(await ok(["run", "--rm", `${p}-heredoc`, "cat", "/h.txt", "/etc/motd", "/dl/file.txt"]), "line one\nline two\nwelcome\ndownloaded\n");
    const hc = JSON.parse(await ok(["inspect", "-f", "{{json .Config.Healthcheck}}", `${p}-heredoc`])) as { Test: string[]; Interval: number; Retries: number };
    assert.deepEqual(hc, { Test: ["CMD-SHELL", "true"], Interval: 5_000_000_000, Retries: 2 });
    const child = await context("onbuild-child", { Dockerfile: `FROM ${p}-heredoc\nCMD ["cat", "/onbuild.txt"]\n` });
    const out = await ok(["build", "-t", `${p}-child`, child]);
    assert.match(out, /# Executing 1 build trigger/);
    assert.equal(await ok(["run", "--rm", `${p}-child`]), "triggered\n");
    assert.equal((await ok(["inspect", "-f", "{{json .Config.OnBuild}}", `${p}-child`])).trim(), "null");
  } finally {
    server.close();
  }
});

test("bad input: a clear error naming the line, exit codes, nothing tagged, no containers left", async () => {
  const before = await containerCount();
  const cases: Array<{ name: string; dockerfile: string; files?: Record<string, string>; code: number; error: RegExp }> = [
    { name: "unknown", dockerfile: "FROM busybox\nRUNN echo\n", code: 1, error: /Dockerfile:2.*unknown instruction: RUNN/i },
    { name: "outside", dockerfile: "FROM busybox\nCOPY ../x /x\n", code: 1, error: /Dockerfile:2: forbidden path outside the build context: \.\.\/x/ },
    { name: "missing", dockerfile: "FROM busybox\n\nCOPY nothere /x\n", code: 1, error: /Dockerfile:3: .*nothere/ },
    { name: "nofrom", dockerfile: "FROM nosuchimage-xyz\n", code: 1, error: /nosuchimage-xyz/ },
    { name: "fails", dockerfile: "FROM busybox\nRUN echo about to fail && exit 3\n", code: 3, error: /The command '\/bin\/sh -c echo about to fail && exit 3' returned a non-zero code: 3/ },
  ];
  for (const c of cases) {
    const dir = await context(`bad-${c.name}`, { Dockerfile: c.dockerfile, ...(c.files ?? {}) });
    const r = await daemon.wharf(["build", "-t", `${p}-bad-${c.name}`, dir]);
    assert.equal(r.code, c.code, `${c.name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, c.error, c.name);
    assert.equal(r.stderr.trim().split("\n").length, 1, `${c.name}: one line: ${r.stderr}`);
    if (c.name === "fails") assert.match(r.stdout, /about to fail/);
    const inspect = await daemon.wharf(["image", "inspect", `${p}-bad-${c.name}`]);
    assert.notEqual(inspect.code, 0, `${c.name}: nothing tagged`);
  }
  // An ADD archive that climbs out of its directory is refused.
  const evil = await context("bad-traversal", { Dockerfile: "FROM busybox\nADD evil.tar /dest/\n" });
  await exec("sh", ["-c", `cd ${evil} && mkdir -p a && echo x > a/f && tar --transform='s,^a/f,../../escaped,' -cf evil.tar a/f`]);
  const r = await daemon.wharf(["build", evil]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Dockerfile:2: /);
  assert.equal(await containerCount(), before);
  // No temporary snapshots or contexts are left behind.
  const tmp = await readdir(join(daemon.dataRoot, "builder", "tmp")).catch(() => []);
  assert.deepEqual(tmp, []);
});

test("a client that disconnects cancels a hanging RUN and removes its container", async () => {
  const dir = await context("hang", { Dockerfile: "FROM busybox\nRUN echo started && sleep 600\n" });
  const before = await containerCount();
  const docker = new Docker({ socketPath: daemon.socket });
  const tar = await exec("tar", ["-C", dir, "-c", "."], { encoding: "buffer", maxBuffer: 1 << 20 });
  const stream = (await docker.buildImage(Buffer.from(tar.stdout) as never, { t: `${p}-hang` })) as NodeJS.ReadableStream & { destroy(): void };
  await new Promise<void>((resolve) => {
    stream.on("data", (d: Buffer) => {
      // The RUN's own output (not the Step line that names it).
      if (d.toString().includes('"started\\n"')) resolve();
    });
  });
  stream.destroy();
  for (let i = 0; i < 100 && (await containerCount()) !== before; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(await containerCount(), before);
  assert.notEqual((await daemon.wharf(["image", "inspect", `${p}-hang`])).code, 0);
});

test("the real docker CLI (classic builder) and dockerode build against wharf", async () => {
  const dir = await context("docker-cli", {
    "app.sh": "#!/bin/sh\necho from docker build\n",
    Dockerfile: "FROM busybox\nCOPY app.sh /app.sh\nRUN chmod +x /app.sh\nCMD [\"/app.sh\"]\n",
  });
  const r = await daemon.docker(["build", "-t", `${p}-docker`, dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Successfully tagged .*-docker:latest/);
  assert.equal((await daemon.docker(["run", "--rm", `${p}-docker`])).stdout, "from docker build\n");
  const failing = await context("docker-cli-fail", { Dockerfile: "FROM busybox\nRUN exit 5\n" });
  const f = await daemon.docker(["build", failing]);
  assert.equal(f.code, 5);
  assert.match(f.stderr, /returned a non-zero code: 5/);

  const docker = new Docker({ socketPath: daemon.socket });
  const stream = await docker.buildImage({ context: dir, src: ["Dockerfile", "app.sh"] }, { t: `${p}-dockerode`, nocache: true });
  const result = await new Promise<unknown[]>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null, res: unknown[]) => (err ? reject(err) : resolve(res))));
  assert.ok(result.some((m) => typeof (m as { aux?: { ID?: string } }).aux?.ID === "string"));
  const info = await docker.getImage(`${p}-dockerode`).inspect();
  assert.deepEqual(info.Config.Cmd, ["/app.sh"]);
});
