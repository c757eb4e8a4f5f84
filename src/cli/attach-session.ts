/**
 * The attach-and-follow sequence shared by `start -a` and `attach`:
 * hijack `POST /containers/{id}/attach`, register a wait, optionally start,
 * then pump streams with raw mode, resize and signal forwarding, and return
 * the container's exit code (0 after a detach).
 */
import { InvalidArgumentError } from "../lib/errors.js";
import { beginWait, defaultDetachKeys, parseDetachKeys, proxySignals, pumpHijacked, setupTty } from "./attach-stream.js";
import type { CliIo } from "./command-kit.js";

export interface ContainerSummary {
  Id: string;
  Name: string;
  Config: { Tty: boolean; OpenStdin: boolean };
  State: { Running: boolean; Paused: boolean; Restarting: boolean };
  HostConfig: { AutoRemove?: boolean };
}

export async function inspectContainer(io: CliIo, ref: string): Promise<ContainerSummary> {
  return io.client.json<ContainerSummary>("GET", `/containers/${encodeURIComponent(ref)}/json`);
}

export interface AttachOptions {
  stdin: boolean;
  /** Called after the attach and wait are in place (`start -a` starts here). */
  beforePump?: () => Promise<void>;
  detachKeys?: string;
  sigProxy: boolean;
}

export async function attachAndFollow(io: CliIo, c: ContainerSummary, o: AttachOptions): Promise<number> {
  const id = c.Id;
  const path = `/containers/${id}`;
  const tty = c.Config.Tty;
  const withStdin = o.stdin && c.Config.OpenStdin;
  const keys = o.detachKeys !== undefined ? parseDetachKeys(o.detachKeys) : defaultDetachKeys;
  if (keys.length === 0) throw new InvalidArgumentError("invalid detach keys");
  const conn = await io.client.hijack(`${path}/attach`, {
    query: { stream: true, stdin: withStdin, stdout: true, stderr: true },
  });
  const exit = await beginWait(io.client, id, c.HostConfig.AutoRemove ? "removed" : "next-exit");
  const raw = tty && withStdin && io.terminal.stdinIsTty;
  let undoTty = () => {};
  const undoSignals = !tty && o.sigProxy ? proxySignals(io.terminal, io.client, id) : () => {};
  try {
    if (raw) io.terminal.setRawMode(true);
    if (o.beforePump) {
      try {
        await o.beforePump();
      } catch (err) {
        conn.socket.destroy();
        throw err;
      }
    }
    if (tty && io.terminal.stdoutIsTty) {
      undoTty = setupTty(io.terminal, (h, w) => io.client.call("POST", `${path}/resize`, { query: { h, w } }), false);
    }
    const { detached } = await pumpHijacked(conn, io, {
      tty,
      stdin: withStdin ? io.stdin : undefined,
      detachKeys: raw ? keys : undefined,
    });
    if (detached) return 0;
    return await exit.exitCode;
  } finally {
    undoTty();
    undoSignals();
    if (raw) io.terminal.setRawMode(false);
  }
}
