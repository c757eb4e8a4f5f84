/**
 * Client side of attach/exec streams: pumping stdin into a hijacked
 * connection (half-closing it on EOF), copying output back (demuxed unless
 * tty), detach keys (Ctrl-P Ctrl-Q by default, tty only), terminal raw mode
 * and size tracking, signal forwarding, and waiting for the exit code.
 */
import type { Readable } from "node:stream";
import { InvalidArgumentError } from "../lib/errors.js";
import type { EngineClient, HijackedConnection } from "./client.js";
import type { CliIo, Terminal } from "./command-kit.js";
import { copyStream, demuxStream } from "./stdcopy.js";

/** docker's detach key syntax: "ctrl-p,ctrl-q", "a,ctrl-[". */
export function parseDetachKeys(spec: string): number[] {
  return spec.split(",").map((k) => {
    const key = k.trim();
    if (key.length === 1) return key.charCodeAt(0);
    const m = /^ctrl-(.)$/i.exec(key);
    if (m) {
      const c = m[1]!.toLowerCase();
      if (c >= "a" && c <= "z") return c.charCodeAt(0) - 96;
      const special: Record<string, number> = { "@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, _: 31 };
      if (c in special) return special[c]!;
    }
    throw new InvalidArgumentError(`Unknown character: '${key}'`);
  });
}

export const defaultDetachKeys = [0x10, 0x11];

/**
 * Watches stdin bytes for the detach sequence. Bytes that could start the
 * sequence are held back until it is clear they are not part of it.
 */
export class EscapeProxy {
  readonly #keys: number[];
  #matched = 0;
  constructor(keys: number[] = defaultDetachKeys) {
    this.#keys = keys;
  }

  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (b === this.#keys[this.#matched]) {
        this.#matched++;
        if (this.#matched === this.#keys.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      // Not the sequence after all: release what was held, then look at this byte afresh.
      out.push(...this.#keys.slice(0, this.#matched));
      this.#matched = 0;
      if (b === this.#keys[0]) this.#matched = 1;
      else out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}

export interface PumpOptions {
  tty: boolean;
  /** Given when stdin is attached. */
  stdin?: Readable;
  /** Detach sequence (tty only); undefined disables. */
  detachKeys?: number[];
}

function isDisconnect(err: unknown): boolean {
  const code = typeof err === "object" && err !== null && "code" in err ? String(err.code) : "";
  return code === "ECONNRESET" || code === "EPIPE" || code === "ERR_STREAM_PREMATURE_CLOSE";
}

/**
 * Pumps a hijacked connection until the output ends (or the user detaches).
 * stdin EOF half-closes the connection, which the daemon passes on to the
 * container as EOF on its stdin.
 */
export function pumpHijacked(conn: HijackedConnection, io: Pick<CliIo, "stdout" | "stderr">, opts: PumpOptions): Promise<{ detached: boolean }> {
  return new Promise((resolve, reject) => {
    let settled = false;
    let cleanupInput = () => {};
    const finish = (detached: boolean, err?: unknown) => {
      if (settled) return;
      settled = true;
      cleanupInput();
      if (detached) conn.socket.destroy();
      if (err && !isDisconnect(err)) reject(err);
      else resolve({ detached });
    };
    conn.socket.on("error", () => {
      // Reported through the output copy below; without a listener the error would crash the CLI.
    });
    const output = opts.tty ? copyStream(conn.output, io.stdout) : demuxStream(conn.output, io.stdout, io.stderr);
    output.then(
      () => finish(false),
      (err: unknown) => finish(false, err),
    );

    const stdin = opts.stdin;
    if (!stdin) return;
    const proxy = opts.tty && opts.detachKeys ? new EscapeProxy(opts.detachKeys) : undefined;
    const onData = (chunk: Buffer | string) => {
      const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      if (proxy) {
        const r = proxy.feed(data);
        if (r.forward.length > 0 && !conn.socket.destroyed) conn.socket.write(r.forward);
        if (r.detached) {
          finish(true);
          return;
        }
        return;
      }
      if (conn.socket.destroyed || conn.socket.writableEnded) return;
      if (!conn.socket.write(data)) {
        stdin.pause();
        conn.socket.once("drain", () => stdin.resume());
      }
    };
    const onEnd = () => {
      if (!conn.socket.destroyed && !conn.socket.writableEnded) conn.socket.end();
    };
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", onEnd);
    cleanupInput = () => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onEnd);
      stdin.pause();
    };
  });
}

/**
 * Starts `POST /containers/{id}/wait` and resolves once the daemon has
 * answered the headers, i.e. once it is waiting — so a start issued after
 * this cannot finish unobserved. The returned promise gives the exit code.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerWait
 */
export async function beginWait(
  client: EngineClient,
  id: string,
  condition: "next-exit" | "removed" | "not-running",
): Promise<{ exitCode: Promise<number> }> {
  const res = await client.stream("POST", `/containers/${encodeURIComponent(id)}/wait`, { query: { condition } });
  const exitCode = (async () => {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8").trim();
    if (!text) return 125;
    const body = JSON.parse(text) as { StatusCode?: number; Error?: { Message?: string } | null };
    if (body.Error?.Message) throw new InvalidArgumentError(body.Error.Message);
    return body.StatusCode ?? 0;
  })();
  // Callers that bail out early never await it; its failure then is not news.
  exitCode.catch(() => {});
  return { exitCode };
}

/**
 * Puts the terminal in raw mode and keeps the remote tty's size in step
 * with ours. The returned function undoes both; call it in `finally`.
 */
export function setupTty(terminal: Terminal, resize: (rows: number, cols: number) => Promise<void>, raw: boolean): () => void {
  if (raw) terminal.setRawMode(true);
  const push = () => {
    const s = terminal.size();
    if (s && s.rows > 0 && s.cols > 0) resize(s.rows, s.cols).catch(() => {});
  };
  push();
  const off = terminal.onResize(push);
  return () => {
    off();
    if (raw) terminal.setRawMode(false);
  };
}

/** Forwards the signals the CLI receives to the container (docker's --sig-proxy). */
export function proxySignals(terminal: Terminal, client: EngineClient, id: string): () => void {
  return terminal.onSignal((signal) => {
    client.call("POST", `/containers/${encodeURIComponent(id)}/kill`, { query: { signal } }).catch(() => {});
  });
}

/** docker's mapping of start errors to exit codes: 127 not found, 126 not executable, else 125. */
export function startErrorExitCode(message: string): number {
  if (/executable file not found|no such file or directory|system cannot find the file specified/i.test(message)) return 127;
  if (/permission denied|is a directory/i.test(message)) return 126;
  return 125;
}
