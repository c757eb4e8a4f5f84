/** Captured output streams and a terminal-less `CliIo` for CLI unit tests. */
import { PassThrough, Writable } from "node:stream";
import type { EngineClient } from "../client.js";
import type { CliIo, Terminal } from "../command-kit.js";

export class Capture extends Writable {
  #chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.#chunks.push(Buffer.from(chunk));
    cb();
  }
  get text(): string {
    return Buffer.concat(this.#chunks).toString("utf8");
  }
}

export function noTerminal(): Terminal {
  return {
    stdinIsTty: false,
    stdoutIsTty: false,
    setRawMode() {},
    size: () => undefined,
    onResize: () => () => {},
    onSignal: () => () => {},
  };
}

export function testIo(client: EngineClient, stdin = new PassThrough()): CliIo & { stdout: Capture; stderr: Capture } {
  stdin.end();
  return { client, stdout: new Capture(), stderr: new Capture(), stdin, terminal: noTerminal(), env: {} };
}
