import { randomBytes } from "node:crypto";
import { lchown, mkdir, rm, stat } from "node:fs/promises";
import { basename, posix } from "node:path";
import { Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { ContainerService } from "../container/container-service.js";
import {
  commitImage,
  familiarString,
  parseNormalizedTagged,
  type ContainerConfig,
  type ImageRecord,
  type ImageStore,
} from "../image/index.js";
import { errnoCode, FailedPreconditionError, InvalidArgumentError, isWharfError, NotFoundError, WharfError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { openDownload } from "../lib/http-download.js";
import { resolveUser } from "../runtime/index.js";
import type { Snapshotter } from "../snapshot/index.js";
import { BuildCache } from "./build-cache.js";
import { ContextArchive } from "./context-archive.js";
import { DockerIgnore } from "./dockerignore.js";
import { checksumSources, resolveSources, type ResolvedSource } from "./source-paths.js";
import { DirectoryTree, type SourceTree } from "./source-tree.js";
import { archiveKind, copySources, destination, extractArchive, parseChmod, writeSourceFile, type CopyOptions } from "./copy-files.js";
import type { CopyInstruction, Dockerfile, FromInstruction, Instruction, RunInstruction, Stage, WordsInstruction } from "./dockerfile.js";
import { parseDockerfile } from "./dockerfile-parser.js";
import { expandRaw, expandWord } from "./shell-words.js";
import { applyMetadata, argEnv, argvOf, lookupIn, shellOf, type StageState } from "./stage-state.js";

/**
 * The `build` layer: runs a Dockerfile the way Docker's classic builder does
 * (https://docs.docker.com/reference/dockerfile/), step by step, each step
 * producing an image on top of the previous one:
 *
 * - metadata instructions change only the config (an `empty_layer` step);
 * - `RUN` executes in a fresh container of the previous step's image, through
 *   the same container service and runtime as `wharf run`; its upper dir
 *   becomes the step's layer;
 * - `COPY`/`ADD` write into an overlay of the previous image (no process),
 *   whose upper dir becomes the layer.
 *
 * Every step is looked up in the `BuildCache` first. Stages the target does
 * not need are skipped. A build that fails or is cancelled removes its
 * containers and temporary snapshots and tags nothing.
 */
export interface BuildRequest {
  /** The build context; the caller owns it and closes it afterwards. */
  context: ContextArchive;
  /** The Dockerfile's path inside the context (default `Dockerfile`). */
  dockerfile?: string;
  /** Dockerfile text sent instead of a file in the context (`docker build -f - .`). */
  dockerfileText?: string;
  tags: string[];
  /** `--build-arg`: a null value means "declared by the client, take the ARG's default". */
  buildArgs: Record<string, string | null>;
  labels: Record<string, string>;
  target?: string;
  noCache: boolean;
  /** `--pull`: pull every FROM image even when it is present. */
  pull?: boolean;
  /** The network RUN steps join (`--network`), default bridge. */
  networkMode?: string;
  signal: AbortSignal;
}

/** Where a build reports: the classic builder's text stream and the final image ID. */
export interface BuildReporter {
  stream(text: string): void;
  aux(value: unknown): void;
}

export interface BuilderDeps {
  images: ImageStore;
  snapshotter: Snapshotter;
  containers: ContainerService;
  cache: BuildCache;
  /** A private directory for scratch files (ADD archives). */
  scratchDir: string;
  log: Logger;
  /** How a missing base image arrives; without it a missing FROM image is an error. */
  pull?: (ref: string, report: BuildReporter) => Promise<ImageRecord>;
}

/** A RUN step that exited non-zero: the build fails with Docker's message and the exit code. */
export class BuildStepError extends FailedPreconditionError {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

/** Prefix of the builder's temporary snapshots, so a restart can find and remove what a crash left. */
const scratchSnapshotPrefix = "build-";

interface StageResult {
  state: StageState;
}

export class Builder {
  readonly #deps: BuilderDeps;

  constructor(deps: BuilderDeps) {
    this.#deps = deps;
  }

  /** Removes temporary snapshots a crashed build left behind (call once at daemon start). */
  async recover(): Promise<void> {
    await rm(this.#deps.scratchDir, { recursive: true, force: true });
    for (const id of await this.#deps.snapshotter.list()) {
      if (id.startsWith(scratchSnapshotPrefix)) await this.#deps.snapshotter.remove(id).catch(() => undefined);
    }
  }

  /** `builder prune`: forgets the cache and deletes the untagged step images only the cache kept. */
  async prune(): Promise<{ deleted: string[]; reclaimed: number }> {
    const { images, containers, cache } = this.#deps;
    const ids = await cache.clear();
    const deleted: string[] = [];
    let reclaimed = 0;
    for (const id of ids) {
      const image = await images.get(id).catch(() => undefined);
      if (!image || image.repoTags.length > 0 || containers.usersOfImage(image.id).length > 0) continue;
      const top = image.layers.at(-1);
      const parent = image.parent ? await images.get(image.parent).catch(() => undefined) : undefined;
      if (top && parent?.layers.length !== image.layers.length) reclaimed += top.uncompressedSize ?? top.size;
      await images.delete(image.id);
      deleted.push(image.id);
    }
    await images.gcBlobs().catch(() => undefined);
    return { deleted, reclaimed };
  }

  /** A build whose context arrives as a tar (`POST /build`): unpacked privately, removed afterwards. */
  async buildFromTar(input: Readable, req: Omit<BuildRequest, "context">, out: BuildReporter): Promise<ImageRecord> {
    await mkdir(this.#deps.scratchDir, { recursive: true });
    const context = await ContextArchive.receive(input, this.#deps.scratchDir);
    try {
      const ignore = await context.readText(".dockerignore");
      if (ignore !== undefined) context.applyIgnore(DockerIgnore.parse(ignore), [posix.normalize(req.dockerfile ?? "Dockerfile"), ".dockerignore"]);
      return await this.build({ ...req, context }, out);
    } finally {
      await context.close();
    }
  }

  async build(req: BuildRequest, out: BuildReporter): Promise<ImageRecord> {
    const path = req.dockerfile ?? "Dockerfile";
    const text = req.dockerfileText ?? (await req.context.readText(path));
    if (text === undefined) throw new NotFoundError(`Cannot locate specified Dockerfile: ${path}`);
    const df = parseDockerfile(text, basename(req.dockerfile ?? "Dockerfile"));
    const tags = req.tags.map((t) => {
      parseNormalizedTagged(t); // refuses a bad name before any work is done
      return t;
    });
    const run = new BuildRun(this.#deps, req, out, df);
    const image = await run.execute();
    for (const t of tags) {
      await this.#deps.images.tag(image.id, t);
    }
    out.stream(`Successfully built ${short(image.id)}\n`);
    for (const t of tags) out.stream(`Successfully tagged ${familiarString(parseNormalizedTagged(t))}\n`);
    return this.#deps.images.get(image.id);
  }
}

/** One execution of one Dockerfile: the step counter, the stages built so far, the args. */
class BuildRun {
  readonly #deps: BuilderDeps;
  readonly #req: BuildRequest;
  readonly #out: BuildReporter;
  readonly #df: Dockerfile;
  readonly #buildArgs = new Map<string, string | undefined>();
  readonly #globalArgs = new Map<string, string | undefined>();
  readonly #consumed = new Set<string>();
  readonly #results = new Map<number, StageResult>();
  #step = 0;
  #total = 0;

  constructor(deps: BuilderDeps, req: BuildRequest, out: BuildReporter, df: Dockerfile) {
    this.#deps = deps;
    this.#req = req;
    this.#out = out;
    this.#df = df;
    for (const [k, v] of Object.entries(req.buildArgs)) this.#buildArgs.set(k, v ?? undefined);
  }

  async execute(): Promise<ImageRecord> {
    const df = this.#df;
    for (const ins of df.globalArgs) {
      for (const a of ins.args) {
        this.#consumed.add(a.name);
        const given = this.#buildArgs.get(a.name);
        const lookup = (n: string): string | undefined => this.#globalArgs.get(n);
        this.#globalArgs.set(a.name, given ?? (a.defaultValue !== undefined ? expandWord(a.defaultValue, lookup, df.escapeChar) : undefined));
      }
    }
    const targetIndex = this.#targetIndex();
    const needed = this.#neededStages(targetIndex);
    const target = df.stages[targetIndex]!;
    if (Object.keys(this.#req.labels).length > 0) {
      target.instructions.push({
        keyword: "LABEL",
        flags: {},
        pairs: Object.entries(this.#req.labels).map(([key, value]) => ({ key: JSON.stringify(key), value: JSON.stringify(value) })),
        source: { line: target.from.source.line, endLine: target.from.source.line, text: `LABEL ${Object.entries(this.#req.labels).map(([k, v]) => `${k}=${v}`).join(" ")}` },
      });
    }
    this.#total = [...needed].reduce((n, i) => n + 1 + df.stages[i]!.instructions.length, 0);
    let last: StageState | undefined;
    for (const i of [...needed].sort((a, b) => a - b)) {
      last = await this.#runStage(i, df.stages[i]!);
      this.#results.set(i, { state: last });
    }
    const unused = [...this.#buildArgs.keys()].filter((k) => !this.#consumed.has(k));
    if (unused.length > 0) this.#out.stream(`[Warning] One or more build-args [${unused.join(" ")}] were not consumed\n`);
    const image = await this.#deps.images.get(last!.imageId!);
    this.#out.aux({ ID: image.id });
    return image;
  }

  #targetIndex(): number {
    const stages = this.#df.stages;
    if (this.#req.target === undefined || this.#req.target === "") return stages.length - 1;
    const i = stages.findIndex((s) => s.from.stageName === this.#req.target!.toLowerCase());
    if (i < 0) throw new InvalidArgumentError(`failed to reach build target ${this.#req.target} in Dockerfile`);
    return i;
  }

  /** The stages the target depends on (FROM another stage, COPY --from), transitively. */
  #neededStages(target: number): Set<number> {
    const needed = new Set<number>();
    const visit = (i: number) => {
      if (needed.has(i)) return;
      needed.add(i);
      const stage = this.#df.stages[i]!;
      const ref = this.#stageIndex(stage.from.image, i);
      if (ref !== undefined) visit(ref);
      for (const ins of stage.instructions) {
        if ((ins.keyword === "COPY" || ins.keyword === "ADD") && ins.flags.from !== undefined) {
          const r = this.#stageIndex(ins.flags.from, i);
          if (r !== undefined) visit(r);
        }
      }
    };
    visit(target);
    return needed;
  }

  /** A stage named by `name` (its `AS` name or its index) among those before `before`. */
  #stageIndex(name: string, before: number): number | undefined {
    const lower = name.toLowerCase();
    for (let i = 0; i < before; i++) if (this.#df.stages[i]!.from.stageName === lower) return i;
    if (/^\d+$/.test(name)) {
      const n = Number(name);
      if (n >= before) throw new InvalidArgumentError(`invalid stage reference ${name}: a stage can only use the stages before it`);
      return n;
    }
    return undefined;
  }

  #begin(ins: { source: { text: string } }): void {
    this.#req.signal.throwIfAborted();
    this.#step++;
    this.#out.stream(`Step ${this.#step}/${this.#total} : ${ins.source.text}\n`);
  }

  async #runStage(index: number, stage: Stage): Promise<StageState> {
    this.#begin(stage.from);
    const state = await this.#from(index, stage.from);
    this.#out.stream(` ---> ${short(state.imageId!)}\n`);
    const triggers = state.config.OnBuild ?? [];
    if (triggers.length > 0) {
      this.#out.stream(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? "s" : ""}\n`);
      state.config = { ...state.config, OnBuild: null };
      for (const trigger of triggers) {
        const [ins] = parseDockerfile(`FROM scratch\n${trigger}\n`).stages[0]!.instructions;
        if (ins) await this.#dispatch(index, state, ins);
      }
    }
    for (const ins of stage.instructions) {
      this.#begin(ins);
      await this.#dispatch(index, state, ins);
      this.#out.stream(` ---> ${short(state.imageId!)}\n`);
    }
    return state;
  }

  async #dispatch(stageIndex: number, state: StageState, ins: Instruction): Promise<void> {
    try {
      if (ins.keyword === "RUN") await this.#run(state, ins);
      else if (ins.keyword === "COPY" || ins.keyword === "ADD") await this.#copy(stageIndex, state, ins);
      else if (ins.keyword === "WORKDIR") await this.#workdir(state, ins as WordsInstruction);
      else {
        const before = state.config;
        const createdBy = applyMetadata(state, ins, this.#buildArgs, this.#globalArgs, this.#consumed);
        const config = state.config;
        state.config = before;
        await this.#commitMetadata(state, config, createdBy);
      }
    } catch (err) {
      if (err instanceof BuildStepError || this.#req.signal.aborted) throw err;
      // Name the line, so a user knows which step went wrong.
      if (isWharfError(err)) throw withLine(err, `Dockerfile:${ins.source.line}: ${err.message}`);
      throw err;
    }
  }

  // ------------------------------------------------------------------ FROM

  async #from(index: number, from: FromInstruction): Promise<StageState> {
    const ref = expandWord(from.image, (n) => this.#globalArgs.get(n), this.#df.escapeChar);
    const base: StageState = { imageId: null, config: {}, args: new Map(), cmdSet: false, escapeChar: this.#df.escapeChar };
    const stageRef = this.#stageIndex(ref, index);
    if (stageRef !== undefined) {
      const prior = this.#results.get(stageRef)!.state;
      return { ...base, imageId: prior.imageId, config: { ...prior.config } };
    }
    if (ref === "scratch") {
      const key = BuildCache.key(["scratch"]);
      const image = await this.#cached(key, () => commitImage(this.#deps.images, null, null, { config: {}, createdBy: "" }));
      return { ...base, imageId: image.id };
    }
    const pull = this.#deps.pull;
    // `--pull`: ask the registry for a newer image even when one is here.
    const image =
      this.#req.pull && pull
        ? await pull(ref, this.#out)
        : await this.#deps.images.get(ref).catch(async (err: unknown) => {
            if (!(err instanceof NotFoundError)) throw err;
            if (!pull) throw new NotFoundError(`Dockerfile:${from.source.line}: pull access denied for ${ref}: image not found locally and this daemon has no registry access`);
            return pull(ref, this.#out);
          });
    return { ...base, imageId: image.id, config: structuredClone(image.config.config ?? {}) };
  }

  // ------------------------------------------------------------------ metadata

  async #commitMetadata(state: StageState, config: ContainerConfig, createdBy: string): Promise<void> {
    const key = BuildCache.key([state.imageId, "metadata", createdBy, config]);
    const image = await this.#cached(key, () => commitImage(this.#deps.images, state.imageId, null, { config, createdBy }));
    state.imageId = image.id;
    state.config = config;
  }

  /** WORKDIR also creates the directory when the image lacks it, as Docker does. */
  async #workdir(state: StageState, ins: WordsInstruction): Promise<void> {
    const before = state.config;
    const createdBy = applyMetadata(state, ins, this.#buildArgs, this.#globalArgs, this.#consumed);
    const config = state.config;
    state.config = before;
    const dir = config.WorkingDir!;
    const key = BuildCache.key([state.imageId, "WORKDIR", dir, config]);
    const image = await this.#cached(key, () =>
      this.#withScratchRoot(state.imageId!, async (root) => {
        const exists = await resolveInRoot(root, dir).then(stat).then(
          (st) => st.isDirectory(),
          () => false,
        );
        if (exists) return null;
        const owner = state.config.User ? await resolveUser(root, state.config.User) : { uid: 0, gid: 0 };
        await writeDir(root, dir, owner);
        return "layer";
      }, config, createdBy),
    );
    state.imageId = image.id;
    state.config = config;
  }

  // ------------------------------------------------------------------ RUN

  async #run(state: StageState, ins: RunInstruction): Promise<void> {
    const { containers, snapshotter, images } = this.#deps;
    let argv = argvOf(state, ins.command);
    let stdin: string | undefined;
    const heredoc = ins.heredocs[0];
    if (heredoc) {
      const content = heredoc.expand ? expandRaw(heredoc.content, lookupIn(state)) : heredoc.content;
      // `RUN <<EOF` alone runs the body as a script; `RUN cmd <<EOF` feeds it to cmd's stdin.
      const alone = ins.command.kind === "shell" && /^<<-?["']?[A-Za-z0-9_]+["']?\s*$/.test(ins.command.command.trim());
      if (alone) argv = [...shellOf(state), content];
      else stdin = content;
    }
    const env = argEnv(state);
    const createdBy = `${env.length > 0 ? `|${env.length} ${env.join(" ")} ` : ""}${argv.join(" ")}`;
    const key = BuildCache.key([state.imageId, "RUN", argv, env, stdin ?? null]);
    const image = await this.#cached(key, async () => {
      const { id } = await containers.create({
        config: {
          Image: state.imageId!,
          Cmd: argv,
          Entrypoint: [""],
          Env: env,
          AttachStdout: true,
          AttachStderr: true,
          OpenStdin: stdin !== undefined,
          StdinOnce: stdin !== undefined,
          Labels: {},
        },
        hostConfig: { NetworkMode: this.#req.networkMode || "default" },
      });
      this.#out.stream(` ---> Running in ${short(id)}\n`);
      try {
        const decoder = new StringDecoder("utf8");
        const attached = await containers.attach(
          id,
          { stdin: stdin !== undefined ? Readable.from([Buffer.from(stdin)]) : undefined, stdout: true, stderr: true, logs: false, stream: true },
          (_stream, data) => this.#out.stream(decoder.write(data)),
        );
        const exited = containers.wait(id, "next-exit");
        const onAbort = () => void containers.kill(id).catch(() => undefined);
        this.#req.signal.addEventListener("abort", onAbort, { once: true });
        try {
          // A cancel that came while the container was being created.
          this.#req.signal.throwIfAborted();
          await containers.start(id);
          if (this.#req.signal.aborted) onAbort();
          const code = await exited;
          await attached.done;
          const rest = decoder.end();
          if (rest) this.#out.stream(rest);
          this.#req.signal.throwIfAborted();
          if (code !== 0) throw new BuildStepError(`The command '${argv.join(" ")}' returned a non-zero code: ${code}`, code);
        } finally {
          this.#req.signal.removeEventListener("abort", onAbort);
        }
        const diff = await snapshotter.diff(id);
        const image = await commitImage(images, state.imageId, diff, { config: state.config, createdBy, container: id });
        await this.#adopt(id, image);
        return image;
      } finally {
        await containers.remove(id, { force: true, volumes: true }).catch((err: unknown) => this.#deps.log.warn(`removing build container ${id}: ${String(err)}`));
        this.#out.stream(`Removing intermediate container ${short(id)}\n`);
      }
    });
    state.imageId = image.id;
  }

  // ------------------------------------------------------------------ COPY / ADD

  async #copy(stageIndex: number, state: StageState, ins: CopyInstruction): Promise<void> {
    const lookup = lookupIn(state);
    const word = (w: string) => expandWord(w, lookup, state.escapeChar);
    const dest = word(ins.dest);
    const chmod = parseChmod(ins.flags.chmod);
    const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
    const fileSources = ins.sources.filter((s) => !heredocs.has(s.replace(/^<<-?["']?|["']?$/g, ""))).map(word);
    const docSources = ins.heredocs.map((h) => ({ name: h.name, content: h.expand ? expandRaw(h.content, lookup) : h.content }));
    const urls = ins.keyword === "ADD" ? fileSources.filter(isUrl) : [];
    const local = fileSources.filter((s) => !isUrl(s));
    const target = destination(dest, state.config.WorkingDir ?? "/", fileSources.length + docSources.length, ins.keyword);

    const from = ins.flags.from !== undefined ? word(ins.flags.from) : undefined;
    if (from !== undefined && ins.keyword === "ADD") throw new InvalidArgumentError("ADD does not support --from, use COPY");
    await this.#withSourceTree(stageIndex, from, async (tree, sourceId) => {
      const sources = local.length > 0 ? await resolveSources(tree, local, from === undefined ? "build context" : `stage ${from}`) : [];
      const checksum = await checksumSources(tree, sources);
      const createdBy = `/bin/sh -c #(nop) ${ins.keyword} ${sources.length === 1 && !sources[0]!.isDir ? "file" : "dir"}:${checksum} in ${target.path} `;
      const key = BuildCache.key([state.imageId, ins.keyword, sourceId, ins.flags.chown ?? null, chmod ?? null, target, checksum, docSources, urls]);
      const image = await this.#cached(key, () =>
        this.#withScratchRoot(state.imageId!, async (root) => {
          const owner = ins.flags.chown !== undefined ? await ownerOf(root, word(ins.flags.chown)) : undefined;
          const opts: CopyOptions = { owner, mode: chmod };
          await this.#place(root, tree, ins.keyword, sources, target, opts);
          for (const d of docSources) {
            const path = target.isDir ? posix.join(target.path, d.name) : target.path;
            await writeSourceFile(root, path, d.content, { ...opts, owner: opts.owner ?? { uid: 0, gid: 0 }, fileMode: 0o644 });
          }
          for (const url of urls) await this.#download(root, url, target, opts);
          return "layer";
        }, state.config, createdBy),
      );
      state.imageId = image.id;
    });
  }

  /** Copies local sources; ADD extracts local archives into the destination directory. */
  async #place(root: string, tree: SourceTree, keyword: "COPY" | "ADD", sources: ResolvedSource[], target: { path: string; isDir: boolean }, opts: CopyOptions): Promise<void> {
    const owner = opts.owner ?? { uid: 0, gid: 0 };
    for (const source of sources) {
      const kind = keyword === "ADD" && !source.isDir ? await archiveKind(tree, source.rel) : undefined;
      if (kind) await extractArchive(root, tree, source.rel, kind, target.path, this.#deps.scratchDir, opts);
      else await copySources(root, tree, [source], target, { ...opts, owner });
    }
  }

  async #download(root: string, url: string, target: { path: string; isDir: boolean }, opts: CopyOptions): Promise<void> {
    const { body, headers } = await openDownload(url, this.#req.signal);
    const name = posix.basename(new URL(url).pathname) || "index.html";
    const path = target.isDir ? posix.join(target.path, name) : target.path;
    const modified = headers.get("last-modified");
    await writeSourceFile(root, path, body, {
      ...opts,
      owner: opts.owner ?? { uid: 0, gid: 0 },
      fileMode: 0o600,
      mtime: modified ? new Date(modified) : undefined,
    });
  }

  /**
   * Runs `fn` with the tree to copy from: the context, a stage of this
   * build, or another image (`COPY --from=busybox`) mounted for the while.
   * `sourceId` is what the cache key needs to tell sources apart.
   */
  async #withSourceTree(stageIndex: number, from: string | undefined, fn: (tree: SourceTree, sourceId: string) => Promise<void>): Promise<void> {
    if (from === undefined) return fn(this.#req.context, "context");
    const stageRef = this.#stageIndex(from, stageIndex);
    const imageId = stageRef !== undefined ? this.#results.get(stageRef)!.state.imageId! : (await this.#deps.images.get(from).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError(`COPY --from=${from}: no stage or image named ${from}`);
      throw err;
    })).id;
    const { snapshotter } = this.#deps;
    const id = scratchSnapshotId();
    await snapshotter.createRw(id, await this.#lowerDirs(imageId));
    try {
      await fn(new DirectoryTree(await snapshotter.mount(id)), imageId);
    } finally {
      await snapshotter.remove(id).catch(() => undefined);
    }
  }

  /**
   * Mounts a writable overlay of `imageId`, lets `fn` change it, and commits
   * its upper dir as the next step's layer (or, when `fn` returns null, a
   * metadata-only step). The overlay is removed whatever happens.
   */
  async #withScratchRoot(imageId: string, fn: (root: string) => Promise<"layer" | null>, config: ContainerConfig, createdBy: string): Promise<ImageRecord> {
    const { snapshotter, images } = this.#deps;
    const id = scratchSnapshotId();
    await snapshotter.createRw(id, await this.#lowerDirs(imageId));
    try {
      const root = await snapshotter.mount(id);
      const result = await fn(root);
      await snapshotter.unmount(id);
      const layer = result === null ? null : await snapshotter.diff(id);
      const image = await commitImage(images, imageId, layer, { config, createdBy });
      if (layer !== null) await this.#adopt(id, image);
      return image;
    } finally {
      await snapshotter.remove(id).catch(() => undefined);
    }
  }

  /**
   * The step's upper dir becomes the new layer's unpacked form, so the next
   * step does not unpack again what was just packed. Only an optimization:
   * if it fails, the next step unpacks the layer from its blob.
   */
  async #adopt(snapshotId: string, image: ImageRecord): Promise<void> {
    await this.#deps.snapshotter
      .adoptUpper(snapshotId, image.layers.map((l) => l.diffId))
      .catch((err: unknown) => this.#deps.log.warn(`build: keeping the layer of ${short(image.id)} from ${snapshotId}: ${String(err)}`));
  }

  async #lowerDirs(imageId: string): Promise<string[]> {
    const image = await this.#deps.images.get(imageId);
    const content = this.#deps.images.content;
    return this.#deps.snapshotter.prepareImage(image.layers.map((l) => ({ diffId: l.diffId, open: () => content.readStream(l.digest) })));
  }

  /** The cached image for `key` (unless --no-cache or it was deleted), else `make` and remember it. */
  async #cached(key: string, make: () => Promise<ImageRecord>): Promise<ImageRecord> {
    const { cache, images } = this.#deps;
    if (!this.#req.noCache) {
      const hit = cache.get(key);
      const image = hit ? await images.get(hit).catch(() => undefined) : undefined;
      if (image) {
        this.#out.stream(" ---> Using cache\n");
        return image;
      }
    }
    const image = await make();
    await cache.put(key, image.id);
    return image;
  }
}

function short(id: string): string {
  return id.replace(/^sha256:/, "").slice(0, 12);
}

function scratchSnapshotId(): string {
  return `${scratchSnapshotPrefix}${randomBytes(16).toString("hex")}`;
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}


async function ownerOf(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  const resolved = await resolveUser(root, spec);
  // "A username without groupname or a UID without GID will use the same numeric UID as the GID."
  // (https://docs.docker.com/reference/dockerfile/#copy---chown---chmod)
  return { uid: resolved.uid, gid: spec.includes(":") ? resolved.gid : resolved.uid };
}

async function writeDir(root: string, dir: string, owner: { uid: number; gid: number }): Promise<void> {
  let current = "/";
  for (const part of dir.split("/").filter(Boolean)) {
    current = posix.join(current, part);
    const host = await resolveInRoot(root, current);
    try {
      await mkdir(host, { mode: 0o755 });
      await lchown(host, owner.uid, owner.gid);
    } catch (err) {
      if (errnoCode(err) !== "EEXIST") throw err;
    }
  }
}

/** Re-raises a Wharf error of the same kind with a message that names the Dockerfile line. */
function withLine(err: WharfError, message: string): WharfError {
  if (/^Dockerfile[^:]*:\d+:/.test(err.message)) return err;
  const Kind = err.constructor as new (message: string, options?: { cause?: unknown }) => WharfError;
  return new Kind(message, { cause: err });
}
