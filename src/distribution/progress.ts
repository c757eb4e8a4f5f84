import { humanSize } from "../lib/humanize.js";

/**
 * The progress messages of pulls and pushes, in the shape of Docker's
 * `jsonmessage.JSONMessage` (what `POST /images/create` and
 * `POST /images/{name}/push` stream, one JSON object per line), so the
 * docker CLI draws its usual per-layer bars from them.
 */
export interface ProgressMessage {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  aux?: unknown;
  error?: string;
  errorDetail?: { message: string };
}

/** Where messages go (the API streams them; tests collect them). Must not throw. */
export type ProgressSink = (message: ProgressMessage) => void;

export const discardProgress: ProgressSink = () => {};

/** Docker's short layer ID: the first 12 hex digits of a digest. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, "").slice(0, 12);
}

/** A status line of one layer (`Pulling fs layer`, `Pushed`, …): progressDetail `{}` as Docker sends it. */
export function layerStatus(id: string, status: string): ProgressMessage {
  return { status, progressDetail: {}, id };
}

/** A `Downloading`/`Pushing`/`Extracting` message with Docker's bar (`[===>   ]  1.2MB/3.4MB`). */
export function layerProgress(id: string, status: string, current: number, total: number): ProgressMessage {
  return { status, progressDetail: { current, total }, progress: progressBar(current, total), id };
}

/** jsonmessage's `JSONProgress.String()` for a wide terminal (the daemon draws the bar; the CLI prints it). */
export function progressBar(current: number, total: number): string {
  if (current <= 0 && total <= 0) return "";
  if (total <= 0) return humanSize(current).padStart(8);
  const pct = Math.min(50, Math.floor(Math.floor((current / total) * 100) / 2));
  const bar = `[${"=".repeat(pct)}>${" ".repeat(Math.max(0, 50 - pct))}] `;
  const numbers = current > total ? humanSize(current).padStart(8) : `${humanSize(current).padStart(8)}/${humanSize(total)}`;
  return bar + numbers;
}

/**
 * Rate-limits progress of one layer: a message at most every `intervalMs`,
 * and always the final one (so a stream of 4 KiB chunks does not become a
 * stream of 4 KiB messages).
 */
export function throttled(sink: ProgressSink, intervalMs = 100): (id: string, status: string, current: number, total: number) => void {
  let last = 0;
  return (id, status, current, total) => {
    const now = Date.now();
    if (current < total && now - last < intervalMs) return;
    last = now;
    sink(layerProgress(id, status, current, total));
  };
}
