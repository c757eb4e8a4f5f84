import { readFile, stat, access } from "node:fs/promises";
import { watch, type FSWatcher } from "node:fs";
import { basename, dirname } from "node:path";
import type { ExitStatus } from "./runtime.js";
import { errnoCode } from "../lib/errors.js";

/** Read conmon's exit file; null while it does not exist (or is still empty). */
export async function readExitStatus(exitFile: string, oomFile: string): Promise<ExitStatus | null> {
  let text: string;
  let finishedAt: Date;
  try {
    text = (await readFile(exitFile, "utf8")).trim();
    finishedAt = (await stat(exitFile)).mtime;
  } catch (err) {
    if (errnoCode(err) === "ENOENT") return null;
    throw err;
  }
  // conmon writes the file in one go, but a reader can still race the write.
  if (text === "") return null;
  const code = Number(text);
  let oomKilled = false;
  try {
    await access(oomFile);
    oomKilled = true;
  } catch {
    // no OOM
  }
  // -1 is conmon's "unknown" (e.g. it timed out waiting); report as Docker's 255.
  return { code: Number.isInteger(code) && code >= 0 ? code : 255, finishedAt, oomKilled };
}

export interface WaitForFileOptions {
  signal?: AbortSignal | undefined;
  /** Called every `pollMs`; when it resolves true the wait gives up with null. */
  giveUp?: () => Promise<boolean>;
  pollMs?: number;
}

/**
 * Resolve once `path` exists (with the result of `read`), using inotify on
 * its directory plus a slow poll as a safety net (inotify can miss events
 * when the directory is re-created, and `giveUp` needs polling anyway).
 * Resolves null when `giveUp` says so; rejects with the abort reason.
 */
export function waitForFile<T>(
  path: string,
  read: () => Promise<T | null>,
  options: WaitForFileOptions = {},
): Promise<T | null> {
  const { signal, giveUp, pollMs = 1000 } = options;
  return new Promise<T | null>((resolve, reject) => {
    let settled = false;
    let watcher: FSWatcher | null = null;
    let timer: NodeJS.Timeout | null = null;
    let checking = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      watcher?.close();
      if (timer) clearInterval(timer);
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const onAbort = () => finish(() => reject(signal!.reason));
    const check = async (poll: boolean) => {
      if (settled || checking) return;
      checking = true;
      try {
        const value = await read();
        if (value !== null) return finish(() => resolve(value));
        if (poll && giveUp && (await giveUp())) {
          // One last look: the file may have landed while we asked.
          const last = await read();
          finish(() => resolve(last));
        }
      } catch (err) {
        finish(() => reject(err));
      } finally {
        checking = false;
      }
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort);
    try {
      const name = basename(path);
      watcher = watch(dirname(path), (_event, filename) => {
        if (filename === null || filename === name) void check(false);
      });
      watcher.on("error", () => {
        watcher?.close();
        watcher = null;
      });
    } catch {
      // Directory missing: rely on polling.
      watcher = null;
    }
    timer = setInterval(() => void check(true), pollMs);
    void check(false);
  });
}
