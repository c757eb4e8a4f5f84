/**
 * Running the host's network tools (`ip`, `iptables-restore`, `unshare`,
 * `nsenter`, `umount`): argv arrays only, never a shell, with optional stdin
 * (batches are fed on stdin so one process does many changes).
 */
import { spawn } from "node:child_process";
import { InternalError, UnavailableError } from "../lib/errors.js";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run to completion; never throws for a non-zero exit. */
export function runCommand(cmd: string, args: readonly string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new UnavailableError(`cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on("close", (code, signal) =>
      resolve({
        code: code ?? (signal ? -1 : 0),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    if (input !== undefined) {
      // EPIPE when the tool exits early is reported through its exit code.
      child.stdin!.on("error", () => {});
      child.stdin!.end(input);
    }
  });
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
