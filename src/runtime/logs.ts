import { open, type FileHandle } from "node:fs/promises";
import { watch, type FSWatcher } from "node:fs";
import type { LogEntry, ReadLogOptions } from "./runtime.js";
import { InvalidArgumentError, NotFoundError, errnoCode } from "../lib/errors.js";

/*
 * conmon's k8s-file format, one line per chunk of output:
 *
 *   <RFC 3339 time with ns and offset> <stdout|stderr> <F|P> <data>\n
 *
 * `F` ends a line of output; `P` is a partial line (conmon read output
 * without a newline) continued by the next entry of the same stream.
 * https://github.com/kubernetes/design-proposals-archive/blob/main/node/kubelet-cri-logging.md
 */

const CHUNK = 64 * 1024;
const NL = 0x0a;

interface RawLine {
  unixNano: bigint;
  stream: "stdout" | "stderr";
  partial: boolean;
  data: Buffer;
}

/**
 * Read a container's log as entries (one per line of output, partial lines
 * joined), oldest first, with Docker's `logs` options. Throws
 * `NotFoundError` when the file does not exist.
 */
export async function* readLogs(path: string, options: ReadLogOptions = {}): AsyncGenerator<LogEntry> {
  const wantStdout = options.stdout ?? true;
  const wantStderr = options.stderr ?? true;
  const since = options.since !== undefined ? secondsToNano(options.since) : null;
  const until = options.until !== undefined ? secondsToNano(options.until) : null;
  const signal = options.signal;

  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if (errnoCode(err) === "ENOENT") throw new NotFoundError(`no log file: ${path}`);
    throw err;
  }
  const follow = options.follow ? new FollowState(path, options.follow) : null;
  try {
    // Without follow the log is read as it was when asked for: lines written meanwhile
    // would make `--tail 1` answer two lines.
    const { size: sizeAsked } = await fh.stat();
    let position = options.tail !== undefined ? await tailOffset(fh, options.tail, sizeAsked) : 0;
    let rest: Buffer<ArrayBufferLike> = Buffer.alloc(0);
    const pending: Record<"stdout" | "stderr", { start: bigint; parts: Buffer[] } | null> = { stdout: null, stderr: null };

    const emit = (stream: "stdout" | "stderr", unixNano: bigint, data: Buffer): LogEntry | "stop" | null => {
      if (until !== null && unixNano > until) return "stop";
      if (since !== null && unixNano < since) return null;
      if (stream === "stdout" ? !wantStdout : !wantStderr) return null;
      return { stream, timestamp: formatNano(unixNano), unixNano, data };
    };

    for (;;) {
      if (signal?.aborted) return;
      // The file may have been truncated by conmon's --log-size-max.
      const now = (await fh.stat()).size;
      const size = follow ? now : Math.min(now, sizeAsked);
      if (size < position) {
        position = 0;
        rest = Buffer.alloc(0);
      }
      let readSomething = false;
      while (position < size) {
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, size - position));
        const { bytesRead } = await fh.read(buf, 0, buf.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        readSomething = true;
        const data = rest.length > 0 ? Buffer.concat([rest, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
        let start = 0;
        let nl: number;
        while ((nl = data.indexOf(NL, start)) !== -1) {
          const line = parseLine(data.subarray(start, nl));
          start = nl + 1;
          if (!line) continue;
          const p = pending[line.stream];
          if (line.partial) {
            if (p) p.parts.push(line.data);
            else pending[line.stream] = { start: line.unixNano, parts: [Buffer.from(line.data)] };
            continue;
          }
          pending[line.stream] = null;
          const full = p ? Buffer.concat([...p.parts, line.data, Buffer.from("\n")]) : Buffer.concat([line.data, Buffer.from("\n")]);
          const entry = emit(line.stream, p ? p.start : line.unixNano, full);
          if (entry === "stop") return;
          if (entry) yield entry;
        }
        rest = Buffer.from(data.subarray(start));
      }
      if (follow && !readSomething && !follow.done) {
        await follow.waitForChange(signal);
        continue;
      }
      if (follow && !follow.done) continue;
      if (follow && readSomething) continue; // drain once more after the end was signalled
      break;
    }
    // Output that never got its newline (the process exited mid-line).
    for (const stream of ["stdout", "stderr"] as const) {
      const p = pending[stream];
      if (!p) continue;
      const entry = emit(stream, p.start, Buffer.concat(p.parts));
      if (entry && entry !== "stop") yield entry;
    }
  } finally {
    follow?.close();
    await fh.close();
  }
}

/** Parse one k8s-file line (without its `\n`); null if it is not one. */
export function parseLine(line: Buffer): RawLine | null {
  const s1 = line.indexOf(0x20);
  if (s1 === -1) return null;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 === -1) return null;
  const stream = line.toString("latin1", s1 + 1, s2);
  if (stream !== "stdout" && stream !== "stderr") return null;
  const s3 = line.indexOf(0x20, s2 + 1);
  const tag = line.toString("latin1", s2 + 1, s3 === -1 ? line.length : s3);
  const unixNano = parseTimestamp(line.toString("latin1", 0, s1));
  if (unixNano === null) return null;
  return {
    unixNano,
    stream,
    // Tags are `:`-separated; only P matters (kubelet does the same).
    partial: tag.split(":").includes("P"),
    data: s3 === -1 ? Buffer.alloc(0) : line.subarray(s3 + 1),
  };
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** RFC 3339 (with up to ns and any offset) → ns since the epoch. */
export function parseTimestamp(s: string): bigint | null {
  const m = TIMESTAMP.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  let nano = BigInt(ms) * 1_000_000n + BigInt((m[7] ?? "").padEnd(9, "0") || "0");
  if (m[8] !== "Z") {
    const sign = m[8]![0] === "-" ? -1n : 1n;
    const [h, min] = m[8]!.slice(1).split(":").map(Number);
    nano -= sign * BigInt(h! * 3600 + min! * 60) * 1_000_000_000n;
  }
  return nano;
}

/** ns since the epoch → `2024-01-02T03:04:05.123456789Z` (Docker's RFC3339NanoFixed). */
export function formatNano(unixNano: bigint): string {
  const ms = Number(unixNano / 1_000_000n);
  const frac = ((unixNano % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n;
  return new Date(ms - (ms % 1000 + 1000) % 1000).toISOString().slice(0, 19) + "." + frac.toString().padStart(9, "0") + "Z";
}

/**
 * Unix seconds → ns. A string (`"1700000000.123456789"`, what Docker's API
 * takes) is parsed exactly; a number is only as precise as a double
 * (about 0.2 µs today).
 */
export function secondsToNano(seconds: number | string): bigint {
  const text = typeof seconds === "number" ? seconds.toFixed(9) : seconds.trim();
  const m = /^(-?)(\d+)(?:\.(\d{0,9})\d*)?$/.exec(text);
  if (!m) throw new InvalidArgumentError(`invalid timestamp: ${seconds}`);
  const nano = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? "").padEnd(9, "0") || "0");
  return m[1] ? -nano : nano;
}

/**
 * The byte offset from which the last `n` entries start. Scans backwards
 * counting `F` lines (each ends one entry); the (n+1)-th from the end ends
 * the entry before the ones we want. Known limit: a partial line of one
 * stream interleaved before the boundary with lines of the other stream is
 * cut off (conmon rarely writes that).
 */
async function tailOffset(fh: FileHandle, n: number, size: number): Promise<number> {
  if (n <= 0) return size;
  let bufStart = size;
  let buf = Buffer.alloc(0);
  const loadMore = async (): Promise<boolean> => {
    if (bufStart === 0) return false;
    const len = Math.min(CHUNK, bufStart);
    const chunk = Buffer.alloc(len);
    await fh.read(chunk, 0, len, bufStart - len);
    bufStart -= len;
    buf = Buffer.concat([chunk, buf]);
    return true;
  };
  // `end` is where the line being examined ends (exclusive, after its \n).
  await loadMore();
  let end = size;
  // A trailing line without \n is incomplete: it comes after any boundary.
  let lastNl = buf.lastIndexOf(NL);
  while (lastNl === -1 && (await loadMore())) lastNl = buf.lastIndexOf(NL);
  if (lastNl === -1) return 0;
  end = bufStart + lastNl + 1;
  // Lines counted from the end; a trailing run of P lines is an entry that
  // has no F yet, and counts as one.
  let complete = 0;
  let first = true;
  for (;;) {
    // Find the \n before this line's own terminator.
    let prev = end - 2 >= bufStart ? buf.lastIndexOf(NL, end - 2 - bufStart) : -1;
    while (prev === -1 && bufStart > 0) {
      await loadMore();
      prev = end - 2 >= bufStart ? buf.lastIndexOf(NL, end - 2 - bufStart) : -1;
    }
    const lineStart = prev === -1 ? 0 : bufStart + prev + 1;
    const line = parseLine(buf.subarray(lineStart - bufStart, end - 1 - bufStart));
    if (line && first && line.partial) complete++;
    if (line) first = false;
    if (line && !line.partial && ++complete === n + 1) return end;
    if (lineStart === 0) return 0;
    end = lineStart;
    // Keep memory bounded: drop what lies after the current line.
    buf = buf.subarray(0, end - bufStart);
  }
}

/** Wakes a following reader when the file changes or the end is signalled. */
class FollowState {
  done = false;
  #watcher: FSWatcher | null = null;
  #wake: (() => void) | null = null;

  constructor(path: string, end: Promise<unknown>) {
    const finish = () => {
      this.done = true;
      this.#wake?.();
    };
    end.then(finish, finish);
    try {
      this.#watcher = watch(path, () => this.#wake?.());
      this.#watcher.on("error", () => undefined);
    } catch {
      this.#watcher = null;
    }
  }

  /** Resolves on a change, on the end signal, on abort, or after a second (safety poll). */
  waitForChange(signal?: AbortSignal): Promise<void> {
    if (this.done || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, 1000);
      const onAbort = () => done();
      signal?.addEventListener("abort", onAbort, { once: true });
      const self = this;
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        self.#wake = null;
        resolve();
      }
      this.#wake = done;
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#wake?.();
  }
}
