/**
 * Renders docker's JSON message streams (load, import, pull progress): one
 * line per layer id, redrawn in place on a terminal; plain lines otherwise.
 * An `error` message ends the stream with that error.
 * https://docs.docker.com/engine/api/v1.45/#tag/Image/operation/ImageLoad
 */
import type { Readable, Writable } from "node:stream";
import { InternalError } from "../lib/errors.js";

export interface JsonMessage {
  status?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  id?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string; code?: number };
  aux?: unknown;
}

/** Splits a newline-delimited stream into its non-empty lines, across arbitrary chunk boundaries. */
export async function* readLines(source: Readable): AsyncGenerator<string> {
  let pending = "";
  for await (const chunk of source) {
    pending += typeof chunk === "string" ? chunk : (chunk as Buffer).toString("utf8");
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).trim();
      pending = pending.slice(nl + 1);
      if (line) yield line;
    }
  }
  if (pending.trim()) yield pending.trim();
}

/** Newline-delimited JSON messages. */
export async function* readJsonLines(source: Readable): AsyncGenerator<JsonMessage> {
  for await (const line of readLines(source)) yield JSON.parse(line) as JsonMessage;
}

export async function displayJsonMessages(
  source: Readable,
  out: Writable,
  isTerminal: boolean,
  onAux?: (aux: unknown) => void,
): Promise<void> {
  const lines = new Map<string, number>();
  for await (const m of readJsonLines(source)) {
    if (m.error || m.errorDetail?.message) throw new InternalError(m.errorDetail?.message ?? m.error ?? "");
    if (m.aux !== undefined) {
      onAux?.(m.aux);
      continue;
    }
    const hasProgress = m.progress !== undefined || m.progressDetail !== undefined;
    let diff = 0;
    if (m.id && hasProgress) {
      let line = lines.get(m.id);
      if (line === undefined) {
        line = lines.size;
        lines.set(m.id, line);
        if (isTerminal) out.write("\n");
      }
      diff = lines.size - line;
      if (isTerminal) out.write(`\x1b[${diff}A`);
    } else {
      // A line without an id scrolls the progress block away.
      lines.clear();
    }
    if (isTerminal && hasProgress) out.write("\x1b[2K\r");
    const prefix = m.id ? `${m.id}: ` : "";
    if (m.stream !== undefined) out.write(m.stream);
    else if (hasProgress && isTerminal) out.write(`${prefix}${m.status ?? ""} ${m.progress ?? ""}\r`);
    else if (hasProgress && (m.progress || (m.progressDetail?.current ?? 0) > 0 || (m.progressDetail?.total ?? 0) > 0)) {
      // Non-terminals get no progress bars, only the status lines (an empty progressDetail is a status line).
    } else out.write(`${prefix}${m.status ?? ""}\n`);
    if (isTerminal && diff > 0) out.write(`\x1b[${diff}B`);
  }
}
