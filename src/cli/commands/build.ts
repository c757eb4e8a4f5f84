/**
 * `wharf build`: packs the context (honouring `.dockerignore`), POSTs it to
 * /build and shows the classic builder's output. Exits with the failing
 * step's code, as docker does.
 */
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { InvalidArgumentError } from "../../lib/errors.js";
import { humanSize } from "../../lib/humanize.js";
import { packContext, type ContextTar } from "../build-context-tar.js";
import { collect, ExitCode, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { readJsonLines } from "../json-messages.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("build", "[OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", io.stdout)
    .option("-t, --tag <list>", 'Name and optionally a tag in the "name:tag" format', collect, [])
    .option("-f, --file <string>", "Name of the Dockerfile (Default is 'PATH/Dockerfile')")
    .option("--build-arg <list>", "Set build-time variables", collect, [])
    .option("--label <list>", "Set metadata for an image", collect, [])
    .option("--target <string>", "Set the target build stage to build.")
    .option("--no-cache", "Do not use cache when building the image")
    .option("--pull", "Always attempt to pull a newer version of the image")
    .option("-q, --quiet", "Suppress the build output and print image ID on success")
    .option("--iidfile <string>", "Write the image ID to the file")
    .option("--network <string>", 'Set the networking mode for the RUN instructions during build (default "default")')
    .option("--rm", "Remove intermediate containers after a successful build", true)
    .option("--force-rm", "Always remove intermediate containers");
  const { options: o, args } = parseArgs(cmd, "build", argv);
  requireArgs("build", args, { exact: 1 });
  const context = await contextOf(args[0]!, o.file as string | undefined, io);
  const buildArgs: Record<string, string | null> = {};
  for (const a of o.buildArg as string[]) {
    const eq = a.indexOf("=");
    // `--build-arg NAME` takes the value from the client's environment, like docker.
    if (eq < 0) buildArgs[a] = io.env[a] ?? null;
    else buildArgs[a.slice(0, eq)] = a.slice(eq + 1);
  }
  const labels: Record<string, string> = {};
  for (const l of o.label as string[]) {
    const eq = l.indexOf("=");
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? "" : l.slice(eq + 1);
  }
  const quiet = !!o.quiet;
  const res = await io.client.stream("POST", "/build", {
    query: {
      t: o.tag as string[],
      dockerfile: context.dockerfile,
      buildargs: JSON.stringify(buildArgs),
      labels: JSON.stringify(labels),
      target: o.target as string | undefined,
      nocache: o.cache === false,
      pull: !!o.pull,
      q: quiet,
      networkmode: o.network as string | undefined,
      rm: o.rm !== false,
      forcerm: !!o.forceRm,
    },
    body: context.tar,
    contentType: "application/x-tar",
  });
  const sent = await context.size;
  if (!quiet) io.stdout.write(`Sending build context to Wharf daemon  ${humanSize(sent)}\n`);
  let imageId = "";
  for await (const m of readJsonLines(res)) {
    if (m.errorDetail || m.error) {
      const code = m.errorDetail?.code || 1;
      throw new ExitCode(code, m.errorDetail?.message ?? m.error ?? "build failed");
    }
    if (m.aux && typeof (m.aux as { ID?: unknown }).ID === "string") imageId = (m.aux as { ID: string }).ID;
    else if (m.stream !== undefined && !quiet) io.stdout.write(m.stream);
  }
  if (quiet) io.stdout.write(`${imageId}\n`);
  if (o.iidfile) await writeFile(o.iidfile as string, imageId);
  return 0;
}

async function contextOf(path: string, file: string | undefined, io: CliIo): Promise<ContextTar> {
  if (path === "-") {
    if (io.terminal.stdinIsTty) throw new InvalidArgumentError("no build context on stdin");
    return stdinContext(io.stdin);
  }
  if (/^(https?:\/\/|git@|github\.com\/)/.test(path)) throw new InvalidArgumentError(`unable to prepare context: remote contexts are not supported: ${path}`);
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new InvalidArgumentError(`unable to prepare context: path "${path}" not found`);
  if (!st.isDirectory()) throw new InvalidArgumentError(`unable to prepare context: context must be a directory: ${path}`);
  if (file === "-") {
    if (io.terminal.stdinIsTty) throw new InvalidArgumentError("no Dockerfile on stdin");
    const chunks: Buffer[] = [];
    for await (const c of io.stdin) chunks.push(c as Buffer);
    return packContext(path, undefined, Buffer.concat(chunks).toString("utf8"));
  }
  const dockerfile = file ?? `${path}/Dockerfile`;
  if (!(await stat(dockerfile).catch(() => undefined))) {
    throw new InvalidArgumentError(`unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dockerfile}: no such file or directory`);
  }
  return packContext(path, dockerfile);
}

/** `wharf build - < context.tar` sends the tar as is; `wharf build - < Dockerfile` wraps the text (no context). */
async function stdinContext(stdin: Readable): Promise<ContextTar> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(c as Buffer);
  const data = Buffer.concat(chunks);
  const isTar = data.length >= 262 && data.subarray(257, 262).toString("latin1") === "ustar";
  const isGzip = data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
  if (isTar || isGzip) return { tar: Readable.from([data]), dockerfile: "Dockerfile", size: Promise.resolve(data.length) };
  const empty = await mkdtemp(join(tmpdir(), "wharf-build-"));
  try {
    const ctx = await packContext(empty, undefined, data.toString("utf8"));
    // The tar is built from memory once the (empty) directory is read.
    const out = await collectTar(ctx.tar);
    return { tar: Readable.from([out]), dockerfile: ctx.dockerfile, size: ctx.size };
  } finally {
    await rm(empty, { recursive: true, force: true });
  }
}

async function collectTar(tar: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tar) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
