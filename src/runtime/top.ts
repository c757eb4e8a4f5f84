import type { TopResult } from "./runtime.js";
import { run } from "./runc.js";
import { InvalidArgumentError } from "../lib/errors.js";

/**
 * `docker top`: run the host's `ps` with the caller's arguments and keep the
 * rows whose PID belongs to the container, the way dockerd does
 * (moby `daemon/top_unix.go`): the last column takes the rest of the line,
 * and thread rows (PID `-`) follow their process.
 */
export async function top(pids: readonly number[], psArgs = "-ef"): Promise<TopResult> {
  const args = psArgs.split(/\s+/).filter(Boolean);
  const result = await run("ps", args);
  if (result.code !== 0) {
    throw new InvalidArgumentError(`ps ${psArgs}: ${result.stderr.trim() || `exit status ${result.code}`}`);
  }
  return parsePsOutput(result.stdout, pids);
}

export function parsePsOutput(output: string, pids: readonly number[]): TopResult {
  const lines = output.split("\n");
  const titles = (lines[0] ?? "").trim().split(/\s+/).filter(Boolean);
  const pidIndex = titles.indexOf("PID");
  if (pidIndex === -1) throw new InvalidArgumentError("Couldn't find PID field in ps output");
  const wanted = new Set(pids);
  const processes: string[][] = [];
  let lastWanted = false;
  for (const line of lines.slice(1)) {
    if (line.trim() === "") continue;
    const fields = line.trim().split(/\s+/);
    const pidField = fields[pidIndex];
    if (pidField === "-") {
      if (lastWanted) processes.push(row(fields, titles.length));
      continue;
    }
    const pid = Number(pidField);
    if (!Number.isInteger(pid)) throw new InvalidArgumentError(`unexpected pid '${pidField}' in ps output`);
    lastWanted = wanted.has(pid);
    if (lastWanted) processes.push(row(fields, titles.length));
  }
  return { Titles: titles, Processes: processes };
}

function row(fields: string[], columns: number): string[] {
  return [...fields.slice(0, columns - 1), fields.slice(columns - 1).join(" ")];
}
