import { createWriteStream } from "node:fs";
import { rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { InvalidArgumentError } from "../lib/errors.js";
import type { CliIo } from "./command-kit.js";

/** Refuses, like docker (with its words, for save and export alike), to pour a tar onto a terminal when no `-o` was given. */
export function checkTarDestination(output: string | undefined, io: CliIo): void {
  if (!output && io.terminal.stdoutIsTty) {
    throw new InvalidArgumentError("cowardly refusing to save to a terminal. Use the -o flag or redirect");
  }
}

/**
 * Writes a tar from the daemon to stdout or to `output`. A file is written
 * next to its target and renamed at the end, so an interrupted transfer
 * never leaves a truncated tar under the name.
 */
export async function writeTarOutput(tar: Readable, output: string | undefined, io: CliIo): Promise<void> {
  if (!output) {
    await pipeline(tar, io.stdout, { end: false });
    return;
  }
  const tmp = join(dirname(output), `.${basename(output)}.${process.pid}.tmp`);
  try {
    await pipeline(tar, createWriteStream(tmp));
    await rename(tmp, output);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
