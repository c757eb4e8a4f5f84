/**
 * `wharf registry [OPTIONS]`: serve the OCI Distribution API on a storage
 * root until SIGINT/SIGTERM; `wharf registry gc [--root DIR] [--dry-run]`:
 * remove blobs no manifest references. The server code loads only here.
 */
import type { RegistryAuth, RegistryServerOptions } from "../../distribution/registry-server.js";
import { createLogger, type LogLevel } from "../../lib/logger.js";
import { newCommand, parseArgs, println, requireArgs, UsageError, type CliIo } from "../command-kit.js";

export const defaultRegistryRoot = "/var/lib/wharf-registry";
export const defaultRegistryAddr = "127.0.0.1:5000";

const levels: readonly string[] = ["debug", "info", "warn", "error"];

/** `host:port`, `:port` (every interface), `[v6]:port`. */
export function parseAddr(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError("registry", `invalid argument "${s}" for "--addr" flag: want host:port`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** argv → the server's options (no I/O). */
export function parseRegistryArgs(argv: string[], out: NodeJS.WritableStream = process.stdout): RegistryServerOptions & { logLevel: LogLevel } {
  const cmd = newCommand("registry", "[OPTIONS] | gc [OPTIONS]", "Run an OCI Distribution (Docker Registry v2) server", out as never)
    .option("--addr <host:port>", "Address to listen on", defaultRegistryAddr)
    .option("--root <dir>", "Storage root", defaultRegistryRoot)
    .option("--tls-cert <file>", "TLS certificate (PEM); with --tls-key, serve HTTPS")
    .option("--tls-key <file>", "TLS private key (PEM)")
    .option("--htpasswd <file>", "htpasswd file of bcrypt entries (htpasswd -B): Basic auth, or the token endpoint's users")
    .option("--realm <string>", "Realm of the Basic challenge", "Wharf Registry")
    .option("--token-realm [url]", "Bearer-token auth: the URL clients get tokens from (no value: this registry's own /token at the listen address; give the URL clients reach when listening on all interfaces)")
    .option("--token-issuer <string>", "Issuer (iss) of tokens", "wharf-registry")
    .option("--token-service <string>", "Service (aud) of tokens and challenges", "wharf-registry")
    .option("--token-key <file>", "ES256 key (PEM): private to issue and verify, public or certificate to verify only (default: generated under --root)")
    .option("--token-expiry <seconds>", "Lifetime of issued tokens", "300")
    .option("-l, --log-level <string>", 'Set the logging level ("debug"|"info"|"warn"|"error")', "info");
  const { options: o, args } = parseArgs(cmd, "registry", argv);
  requireArgs("registry", args, { max: 0 });
  const level = String(o.logLevel);
  if (!levels.includes(level)) throw new UsageError("registry", `unable to parse logging level: ${level}`);
  if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new UsageError("registry", "--tls-cert and --tls-key go together");
  let auth: RegistryAuth = { kind: "none" };
  if (o.tokenRealm !== undefined) {
    const realm = o.tokenRealm === true ? "" : String(o.tokenRealm);
    if (realm !== "" && !/^https?:\/\/\S+$/.test(realm)) throw new UsageError("registry", `invalid argument "${realm}" for "--token-realm" flag: want an http(s) URL`);
    const expiry = String(o.tokenExpiry);
    if (!/^\d+$/.test(expiry) || Number(expiry) < 1) throw new UsageError("registry", `invalid argument "${expiry}" for "--token-expiry" flag: want seconds`);
    auth = {
      kind: "token",
      realm,
      issuer: String(o.tokenIssuer),
      service: String(o.tokenService),
      expiresInSeconds: Number(expiry),
      ...(o.htpasswd !== undefined ? { htpasswd: String(o.htpasswd) } : {}),
      ...(o.tokenKey !== undefined ? { key: String(o.tokenKey) } : {}),
    };
  } else if (o.htpasswd !== undefined) {
    auth = { kind: "basic", htpasswd: String(o.htpasswd), realm: String(o.realm) };
  }
  return {
    addr: parseAddr(String(o.addr)),
    root: String(o.root),
    auth,
    ...(o.tlsCert !== undefined ? { tls: { cert: String(o.tlsCert), key: String(o.tlsKey) } } : {}),
    logLevel: level as LogLevel,
  };
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === "gc") return gc(argv.slice(1), io);
  const { logLevel, ...options } = parseRegistryArgs(argv, io.stdout);
  const logger = createLogger(logLevel, io.stderr);
  const { startRegistryServer } = await import("../../distribution/start-registry.js");
  const server = await startRegistryServer({ ...options, logger });
  const authNote = options.auth.kind === "none" ? "no auth" : options.auth.kind === "basic" ? "basic auth" : "token auth";
  logger.info(`registry listening on ${server.url} (root ${options.root}, ${authNote})`);
  return new Promise<number>((resolve) => {
    const off = io.terminal.onSignal((sig) => {
      if (sig !== "INT" && sig !== "TERM") return;
      off();
      logger.info(`SIG${sig}: shutting down`);
      server.close().then(
        () => resolve(0),
        (err: unknown) => {
          logger.error(`shutdown: ${(err as Error).message}`);
          resolve(1);
        },
      );
    });
  });
}

async function gc(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("registry gc", "[OPTIONS]", "Remove blobs that no manifest of any repository references", io.stdout)
    .option("--root <dir>", "Storage root", defaultRegistryRoot)
    .option("--dry-run", "Report what would be removed, remove nothing");
  const { options: o, args } = parseArgs(cmd, "registry gc", argv);
  requireArgs("registry gc", args, { max: 0 });
  const { collectGarbage } = await import("../../distribution/registry-gc.js");
  const dryRun = o.dryRun === true;
  const report = await collectGarbage({ root: String(o.root), dryRun, log: (line) => println(io.stdout, line) });
  println(
    io.stdout,
    `${report.repositories} repositories, ${report.manifests} manifests, ${report.marked} blobs marked, ` +
      `${report.swept.length} blobs ${dryRun ? "eligible for deletion" : "deleted"} (${report.bytesFreed} bytes), ` +
      `${report.uploadsRemoved} stale upload sessions ${dryRun ? "eligible for deletion" : "removed"}`,
  );
  return 0;
}
