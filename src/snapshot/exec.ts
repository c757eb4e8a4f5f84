import { InternalError } from "../lib/errors.js";
import { launcher } from "../lib/launcher.js";

export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Run a helper program (mount, umount, sh, getfattr, sync) with arguments
 * passed as an argv array (each word quoted, never interpreted) from the
 * launcher's resident shells (src/lib/launcher.ts), and reject with an
 * `InternalError` carrying its stderr when it fails (unless `allowFailure`).
 */
export async function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; allowFailure?: boolean } = {},
): Promise<RunResult & { code: number }> {
  const what = `${file} ${args.slice(0, 4).join(" ")}${args.length > 4 ? " …" : ""}`;
  const r = await launcher.launch(file, args, { cwd: options.cwd, env: { LC_ALL: "C" } }).catch((err: unknown) => {
    // A program that cannot be run at all fails like one that ran and failed.
    if (options.allowFailure) return { code: -1, stdout: "", stderr: (err as Error).message };
    throw new InternalError(`${what}: ${(err as Error).message}`, { cause: err });
  });
  if (r.code !== 0 && !options.allowFailure) {
    throw new InternalError(`${what}: ${r.stderr.trim() || `exit status ${r.code}`}`);
  }
  return r;
}
