import { chmod, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError, errnoCode } from "../lib/errors.js";
import { writeFileAtomic } from "../lib/atomic-file.js";
import { defaultDomain } from "../image/reference.js";
import { CredentialHelper } from "./credential-helper.js";

/**
 * The docker CLI's credentials file, shared with it so `docker login` and
 * `wharf login` see each other's logins: `$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`, with
 *
 * ```json
 * { "auths": { "localhost:5000": { "auth": "<base64 user:password>" },
 *              "https://index.docker.io/v1/": { "auth": "…" } } }
 * ```
 *
 * (https://docs.docker.com/reference/cli/docker/login/#default-behavior).
 * Everything else in the file (credsStore, proxies, plugins' keys) is kept
 * as it was when the file is rewritten. Where the file names a credential
 * helper (`credHelpers` per registry, else `credsStore` for all), the
 * credentials live in the helper and `auths` keeps only an empty entry for
 * the server, as the docker CLI does; `lookup`/`store`/`erase` choose.
 */

/** Docker Hub's key in `auths`, as every docker CLI writes it. */
export const dockerHubAuthKey = "https://index.docker.io/v1/";

export interface StoredCredentials {
  readonly username: string;
  readonly password: string;
  /** An OAuth refresh token some registries hand out instead of keeping the password. */
  readonly identityToken?: string;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  email?: string;
  [key: string]: unknown;
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** Where the file lives for this environment. */
export function dockerConfigPath(env: Record<string, string | undefined> = process.env): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
  return join(dir, "config.json");
}

/**
 * The key a server address is stored under: Docker Hub's aliases become
 * `https://index.docker.io/v1/`; anything else its bare `host[:port]`
 * (`http://localhost:5000/v2/` → `localhost:5000`).
 */
export function credentialKey(server: string): string {
  const host = hostOf(server);
  if (host === defaultDomain || host === "index.docker.io" || host === "registry-1.docker.io") return dockerHubAuthKey;
  return host;
}

/** `https://host:port/path` → `host:port` (what docker's `ConvertToHostname` does). */
function hostOf(server: string): string {
  let s = server.trim();
  s = s.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
  return s.split("/")[0]!.toLowerCase();
}

/** A credentials file, read once; `save` rewrites it atomically with mode 0600. */
export class CredentialsFile {
  readonly path: string;
  #config: ConfigFile;

  private constructor(path: string, config: ConfigFile) {
    this.path = path;
    this.#config = config;
  }

  /** Reads the file; a missing file is an empty one. `InvalidArgumentError` when it is not JSON. */
  static async load(path: string = dockerConfigPath()): Promise<CredentialsFile> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch (err) {
      if (errnoCode(err) === "ENOENT") return new CredentialsFile(path, {});
      throw err;
    }
    if (text.trim() === "") return new CredentialsFile(path, {});
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new SyntaxError("not a JSON object");
      return new CredentialsFile(path, parsed as ConfigFile);
    } catch (err) {
      throw new InvalidArgumentError(`${path}: invalid docker config file: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The credentials stored for `server` (any spelling of it), or undefined. */
  get(server: string): StoredCredentials | undefined {
    const want = credentialKey(server);
    const auths = this.#config.auths ?? {};
    // Exact key first, then any key that names the same host (`http://host:port`, `host:port/v2/`).
    const entry = auths[want] ?? Object.entries(auths).find(([k]) => credentialKey(k) === want)?.[1];
    if (!entry) return undefined;
    return decodeEntry(entry);
  }

  /** Records credentials for `server` (replacing what was there). */
  set(server: string, creds: StoredCredentials): void {
    const key = credentialKey(server);
    const auths = { ...(this.#config.auths ?? {}) };
    for (const k of Object.keys(auths)) if (k !== key && credentialKey(k) === key) delete auths[k];
    const entry: AuthEntry = { auth: Buffer.from(`${creds.username}:${creds.password}`).toString("base64") };
    if (creds.identityToken) entry.identitytoken = creds.identityToken;
    auths[key] = entry;
    this.#config = { ...this.#config, auths };
  }

  /** Forgets `server`'s credentials; true when there were some. */
  remove(server: string): boolean {
    const key = credentialKey(server);
    const auths = { ...(this.#config.auths ?? {}) };
    let removed = false;
    for (const k of Object.keys(auths)) {
      if (credentialKey(k) === key) {
        delete auths[k];
        removed = true;
      }
    }
    this.#config = { ...this.#config, auths };
    return removed;
  }

  /** The helper that keeps `server`'s credentials, or undefined when they live in this file. */
  helperFor(server: string): CredentialHelper | undefined {
    const key = credentialKey(server);
    const named = Object.entries(this.#config.credHelpers ?? {}).find(([k]) => credentialKey(k) === key)?.[1] ?? this.#config.credsStore;
    return named ? new CredentialHelper(named) : undefined;
  }

  /** `server`'s credentials from its helper or from `auths`; undefined when there are none. */
  async lookup(server: string): Promise<StoredCredentials | undefined> {
    const helper = this.helperFor(server);
    return helper ? helper.get(credentialKey(server)) : this.get(server);
  }

  /** Keeps credentials in the helper (marking the server in `auths`) or in the file; call `save` after. */
  async store(server: string, creds: StoredCredentials): Promise<void> {
    const helper = this.helperFor(server);
    if (!helper) return this.set(server, creds);
    await helper.store(credentialKey(server), creds);
    this.remove(server);
    this.#config = { ...this.#config, auths: { ...(this.#config.auths ?? {}), [credentialKey(server)]: {} } };
  }

  /** Forgets `server` in the helper and the file; true when either had it. Call `save` after. */
  async erase(server: string): Promise<boolean> {
    const helper = this.helperFor(server);
    const inHelper = helper ? await helper.erase(credentialKey(server)) : false;
    return this.remove(server) || inHelper;
  }

  async save(): Promise<void> {
    await writeFileAtomic(this.path, JSON.stringify(this.#config, null, "\t") + "\n", 0o600);
    await chmod(this.path, 0o600);
  }
}

function decodeEntry(entry: AuthEntry): StoredCredentials | undefined {
  let username = typeof entry.username === "string" ? entry.username : "";
  let password = typeof entry.password === "string" ? entry.password : "";
  if (typeof entry.auth === "string" && entry.auth !== "") {
    const plain = Buffer.from(entry.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon < 0) return undefined;
    username = plain.slice(0, colon);
    password = plain.slice(colon + 1);
  }
  const identityToken = typeof entry.identitytoken === "string" && entry.identitytoken !== "" ? entry.identitytoken : undefined;
  if (username === "" && identityToken === undefined) return undefined;
  return { username, password, ...(identityToken ? { identityToken } : {}) };
}
