import type { ServerResponse } from "node:http";
import type { ProgressMessage } from "../distribution/progress.js";

/**
 * A JSON-message stream response (pull, push): the 200 and its headers go
 * out with the first message, so a failure before any progress is still an
 * ordinary error answer with its status (Docker's `WriteFlusher` habit);
 * after that, a failure can only be an `error` message in the stream.
 */
export class ProgressStream {
  readonly #res: ServerResponse;
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  get started(): boolean {
    return this.#started;
  }

  readonly send = (m: ProgressMessage): void => {
    this.#begin();
    if (!this.#res.writableEnded) this.#res.write(`${JSON.stringify(m)}\n`);
  };

  /** Ends the stream with Docker's error message. */
  fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.send({ errorDetail: { message }, error: message });
  }

  end(): void {
    this.#begin();
    this.#res.end();
  }

  /** An abort signal that fires when the client goes away before the end. */
  signal(): AbortSignal {
    const ac = new AbortController();
    this.#res.once("close", () => {
      if (!this.#res.writableFinished) ac.abort(new Error("the client went away"));
    });
    return ac.signal;
  }

  #begin(): void {
    if (this.#started) return;
    this.#started = true;
    this.#res.writeHead(200, { "Content-Type": "application/json" });
  }
}
