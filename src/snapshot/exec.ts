import { execFile } from "node:child_process";
import { InternalError } from "../lib/errors.js";

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Run a helper program (mount, umount, sh, getfattr, sync) with arguments
 * passed as an argv array — never through a shell string — and reject with an
 * `InternalError` carrying its stderr when it fails (unless `allowFailure`).
 */
export function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; allowFailure?: boolean; maxBuffer?: number } = {},
): Promise<RunResult & { code: number }> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd, maxBuffer: options.maxBuffer ?? 64 << 20, encoding: "utf8", env: { ...process.env, LC_ALL: "C" } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : -1) : 0;
        if (err && !options.allowFailure) {
          reject(new InternalError(`${file} ${args.slice(0, 4).join(" ")}${args.length > 4 ? " …" : ""}: ${stderr.trim() || err.message}`, { cause: err }));
          return;
        }
        resolve({ stdout, stderr, code });
      },
    );
  });
}
