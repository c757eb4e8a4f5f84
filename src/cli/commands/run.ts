/**
 * `wharf run`, in the docker CLI's order: create → attach (hijacked, before
 * start so no output is lost) → wait (condition next-exit, or removed with
 * --rm) → start → pump streams → exit with the container's code.
 * With -d: create → start → print the ID.
 */
import { ExitCode, println, type CliIo } from "../command-kit.js";
import { daemonStatusOf } from "../client.js";
import { createContainer, parseCreate } from "./create.js";

// The stream plumbing is loaded only by the runs that attach (not by `run -d`).
const attachStream = () => import("../attach-stream.js");

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const req = parseCreate(argv, io, "run");
  // Loaded while the daemon creates the container.
  const stream = req.detach ? undefined : attachStream();
  stream?.catch(() => {});
  const { Id: id } = await createContainer(io, req);
  const cfg = req.body as { Tty: boolean; AttachStdin: boolean; AttachStdout: boolean; AttachStderr: boolean; HostConfig: { AutoRemove: boolean } };
  const path = `/containers/${id}`;

  if (req.detach) {
    await start(io, path);
    println(io.stdout, id);
    return 0;
  }

  const { beginWait, defaultDetachKeys, parseDetachKeys, proxySignals, pumpHijacked, setupTty } = await stream!;
  const attaching = cfg.AttachStdin || cfg.AttachStdout || cfg.AttachStderr;
  const conn = attaching
    ? await io.client.hijack(`${path}/attach`, {
        query: {
          stream: true,
          stdin: cfg.AttachStdin,
          stdout: cfg.AttachStdout,
          stderr: cfg.AttachStderr,
        },
      })
    : undefined;
  const exit = await beginWait(io.client, id, cfg.HostConfig.AutoRemove ? "removed" : "next-exit");

  const tty = cfg.Tty;
  const stdin = cfg.AttachStdin ? io.stdin : undefined;
  const raw = tty && !!stdin && io.terminal.stdinIsTty;
  let undoTty = () => {};
  const undoSignals = !tty && req.sigProxy ? proxySignals(io.terminal, io.client, id) : () => {};
  try {
    // Raw mode before start so the first keystrokes reach the container, not our line editor.
    if (raw) io.terminal.setRawMode(true);
    try {
      await start(io, path);
    } catch (err) {
      conn?.socket.destroy();
      throw err;
    }
    if (tty && io.terminal.stdoutIsTty) {
      undoTty = setupTty(io.terminal, (h, w) => io.client.call("POST", `${path}/resize`, { query: { h, w } }), false);
    }
    if (conn) {
      const keys = req.detachKeys !== undefined ? parseDetachKeys(req.detachKeys) : defaultDetachKeys;
      const { detached } = await pumpHijacked(conn, io, { tty, stdin, detachKeys: raw ? keys : undefined });
      if (detached) return 0;
    }
    return await exit.exitCode;
  } finally {
    undoTty();
    undoSignals();
    if (raw) io.terminal.setRawMode(false);
  }
}

/** POST /containers/{id}/start; errors get docker's 125/126/127 exit codes. */
async function start(io: CliIo, path: string): Promise<void> {
  try {
    await io.client.call("POST", `${path}/start`);
  } catch (err) {
    if (daemonStatusOf(err) === undefined) throw err;
    let msg = `Error response from daemon: ${(err as Error).message}`;
    if (!/[.?]$/.test(msg)) msg += ".";
    const { startErrorExitCode } = await attachStream();
    throw new ExitCode(startErrorExitCode(msg), `wharf: ${msg}\nSee 'wharf run --help'.`);
  }
}
