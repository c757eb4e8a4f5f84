import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { errnoCode, InvalidArgumentError } from "../lib/errors.js";

/**
 * Per-registry TLS material in Docker's layout
 * (https://docs.docker.com/engine/security/certificates/):
 *
 * ```
 * <certs dir>/<host[:port]>/ca.crt         extra CA roots (any *.crt)
 * <certs dir>/<host[:port]>/client.cert    client certificate (any *.cert) …
 * <certs dir>/<host[:port]>/client.key     … with the key of the same name
 * ```
 *
 * Extra roots are added to the system's, not put in their place. The first
 * dir that has a folder for the host wins (Wharf's own, then Docker's).
 */
export interface RegistryTls {
  ca: string[];
  cert?: string;
  key?: string;
}

export const defaultCertsDirs: readonly string[] = ["/etc/wharf/certs.d", "/etc/docker/certs.d"];

/**
 * The TLS options for `host` (`host[:port]`), or undefined when no certs dir
 * names it. `InvalidArgumentError` for a client certificate without its key
 * (or a key without its certificate), as dockerd refuses those.
 */
export async function loadRegistryTls(host: string, dirs: readonly string[] = defaultCertsDirs): Promise<RegistryTls | undefined> {
  // `[::1]:5000` is kept as such on disk too; a host name never holds a path separator.
  if (host.includes("/") || host.startsWith(".")) return undefined;
  for (const base of dirs) {
    const dir = join(base, host);
    let names: string[];
    try {
      names = (await readdir(dir)).sort();
    } catch (err) {
      if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") continue;
      throw err;
    }
    const tls: RegistryTls = { ca: [] };
    for (const n of names.filter((x) => x.endsWith(".crt"))) tls.ca.push(await readFile(join(dir, n), "utf8"));
    for (const n of names.filter((x) => x.endsWith(".cert"))) {
      const keyName = `${n.slice(0, -".cert".length)}.key`;
      if (!names.includes(keyName)) throw new InvalidArgumentError(`missing key ${keyName} for client certificate ${n} in ${dir}`);
      tls.cert = await readFile(join(dir, n), "utf8");
      tls.key = await readFile(join(dir, keyName), "utf8");
    }
    for (const n of names.filter((x) => x.endsWith(".key"))) {
      const certName = `${n.slice(0, -".key".length)}.cert`;
      if (!names.includes(certName)) throw new InvalidArgumentError(`missing client certificate ${certName} for key ${n} in ${dir}`);
    }
    return tls;
  }
  return undefined;
}

/** The roots a connection to a registry trusts: the system's plus the registry's own. */
export function trustedRoots(tls: RegistryTls | undefined): string[] | undefined {
  return tls && tls.ca.length > 0 ? [...rootCertificates, ...tls.ca] : undefined;
}
