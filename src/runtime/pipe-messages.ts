import type { Readable } from "node:stream";

/** One message conmon writes on `_OCI_SYNCPIPE` / `_OCI_ATTACHPIPE` with `--api-version 1`: `{"data": N, "message": "…"}`. */
export interface PipeMessage {
  data: number;
  message?: string;
}

/**
 * Reads conmon's newline-terminated JSON messages from one of the pipes we
 * hand it. `next()` resolves with null once conmon closed its end.
 */
export class PipeMessageReader {
  #buffer = "";
  #queue: PipeMessage[] = [];
  #waiters: ((m: PipeMessage | null) => void)[] = [];
  #ended = false;

  constructor(stream: Readable) {
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf("\n")) !== -1) {
        const line = this.#buffer.slice(0, nl).trim();
        this.#buffer = this.#buffer.slice(nl + 1);
        if (line) this.#push(parseMessage(line));
      }
    });
    const end = () => {
      if (this.#ended) return;
      const rest = this.#buffer.trim();
      this.#buffer = "";
      if (rest) this.#push(parseMessage(rest));
      this.#ended = true;
      for (const w of this.#waiters.splice(0)) w(null);
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", end);
  }

  next(): Promise<PipeMessage | null> {
    const m = this.#queue.shift();
    if (m) return Promise.resolve(m);
    if (this.#ended) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #push(m: PipeMessage): void {
    const w = this.#waiters.shift();
    if (w) w(m);
    else this.#queue.push(m);
  }
}

/** Older conmons escape messages loosely; fall back to picking the fields out. */
export function parseMessage(line: string): PipeMessage {
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    const data = Number(parsed.data ?? parsed.pid ?? parsed.exit_code);
    const out: PipeMessage = { data: Number.isFinite(data) ? data : -1 };
    if (typeof parsed.message === "string") out.message = parsed.message;
    return out;
  } catch {
    const data = /"(?:data|pid|exit_code)"\s*:\s*(-?\d+)/.exec(line);
    const message = /"message"\s*:\s*"([\s\S]*)"\s*}\s*$/.exec(line);
    const out: PipeMessage = { data: data ? Number(data[1]) : -1 };
    if (message) out.message = message[1]!.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    return out;
  }
}
