import { execFile } from "node:child_process";
import { chmod, chown, mkdir, rm } from "node:fs/promises";
import type { Server } from "node:http";
import { connect } from "node:net";
import { dirname } from "node:path";
import { promisify } from "node:util";
import { ConflictError, InvalidArgumentError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";

const run = promisify(execFile);

export type ListenAddress = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/** `unix:///run/wharf/wharf.sock`, `tcp://127.0.0.1:2375`, `fd://` is not supported. */
export function parseListenAddress(addr: string): ListenAddress {
  if (addr.startsWith("unix://")) return { kind: "unix", path: addr.slice("unix://".length) };
  if (addr.startsWith("/")) return { kind: "unix", path: addr };
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/]*)(?::(\d+))?\/?$/.exec(addr);
  if (!m) throw new InvalidArgumentError(`invalid listen address: ${addr}`);
  const port = m[2] ? Number(m[2]) : 2375;
  if (port < 1 || port > 65535) throw new InvalidArgumentError(`invalid listen address: ${addr}`);
  return { kind: "tcp", host: (m[1] || "127.0.0.1").replace(/^\[|\]$/g, ""), port };
}

/**
 * Listens on a unix socket owned `root:<group>` with mode 0660 (the group is
 * created if missing), refusing to take over a socket another daemon serves.
 */
export async function listenUnix(server: Server, path: string, group: string, log: Logger): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (await answers(path)) throw new ConflictError(`another daemon is already listening on ${path}`);
  await rm(path, { force: true });
  // Created 0600 from the first instant, then widened to the group: never world-accessible.
  const oldMask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(oldMask);
  }
  const gid = await ensureGroup(group, log);
  if (gid !== undefined) await chown(path, 0, gid);
  await chmod(path, 0o660);
}

export async function listenTcp(server: Server, host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

async function ensureGroup(group: string, log: Logger): Promise<number | undefined> {
  const lookup = async () => {
    const { stdout } = await run("getent", ["group", group]);
    return Number(stdout.split(":")[2]);
  };
  try {
    return await lookup();
  } catch {
    try {
      await run("groupadd", ["--system", group]);
      return await lookup();
    } catch (err) {
      log.warn(`could not create group ${group} for the API socket: ${String(err)}; socket stays root-only`);
      return undefined;
    }
  }
}
