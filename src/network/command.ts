/**
 * Running the host's network tools (`ip`, `iptables-restore`, `unshare`,
 * `nsenter`, `umount`): argv arrays only, each word quoted, with optional stdin
 * (batches are fed on stdin so one process does many changes). They start from
 * the launcher's resident shells, not by forking the daemon (src/lib/launcher.ts).
 */
import { InternalError } from "../lib/errors.js";
import { launcher, type LaunchResult } from "../lib/launcher.js";

export type CommandResult = LaunchResult;

/** Run to completion; never throws for a non-zero exit (`UnavailableError` when `cmd` is missing). */
export function runCommand(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return launcher.launch(cmd, args, input === undefined ? {} : { input });
}

/** Run and throw `InternalError` (with the tool's stderr) on a non-zero exit. */
export async function mustRun(cmd: string, args: readonly string[], input?: string): Promise<string> {
  const r = await runCommand(cmd, args, input);
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim();
    throw new InternalError(`${cmd} ${args.join(" ")} failed: ${detail}${input ? `\ninput:\n${input}` : ""}`);
  }
  return r.stdout;
}
