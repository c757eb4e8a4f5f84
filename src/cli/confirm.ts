import type { CliIo } from "./command-kit.js";

/**
 * Docker's `[y/N]` prompt: writes `message`, reads one line from stdin and
 * says yes only to `y`/`yes` (any case). End of input counts as no, so a
 * script without `-f` removes nothing.
 */
export async function confirm(io: CliIo, message: string): Promise<boolean> {
  io.stdout.write(`${message}\nAre you sure you want to continue? [y/N] `);
  const answer = await firstLine(io.stdin);
  return /^y(es)?$/i.test(answer.trim());
}

function firstLine(input: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    let buf = "";
    const done = () => {
      input.off("data", onData);
      input.off("end", done);
      input.off("error", done);
      input.pause();
      resolve(buf.split("\n")[0] ?? "");
    };
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      if (buf.includes("\n")) done();
    };
    input.on("data", onData);
    input.once("end", done);
    input.once("error", done);
    input.resume();
  });
}
