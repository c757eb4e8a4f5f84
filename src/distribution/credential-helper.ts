import { spawn } from "node:child_process";
import { FailedPreconditionError, InvalidArgumentError, UnavailableError } from "../lib/errors.js";
import type { StoredCredentials } from "./credentials.js";

/**
 * A docker credential helper (`docker-credential-<name>` on PATH: `pass`,
 * `secretservice`, `ecr-login`, `desktop`, …), spoken to with its protocol
 * (https://github.com/docker/docker-credential-helpers#development): the verb
 * as the only argument, the server URL or a JSON record on stdin, a JSON
 * record on stdout. A helper that does not know a server says so with
 * "credentials not found in native keychain" and a non-zero exit.
 * Identity tokens travel as the secret of the user `<token>`, as the docker
 * CLI stores them.
 */
export class CredentialHelper {
  readonly name: string;
  readonly program: string;

  constructor(name: string) {
    if (!/^[a-zA-Z0-9_.-]+$/.test(name)) throw new InvalidArgumentError(`invalid credential helper name ${JSON.stringify(name)}`);
    this.name = name;
    this.program = `docker-credential-${name}`;
  }

  /** The credentials for `serverUrl`, or undefined when the helper has none. */
  async get(serverUrl: string): Promise<StoredCredentials | undefined> {
    const r = await this.#run("get", serverUrl);
    if (r.code !== 0) {
      if (/credentials not found/i.test(r.stdout + r.stderr)) return undefined;
      throw this.#failure("get", r);
    }
    let parsed: { Username?: unknown; Secret?: unknown };
    try {
      parsed = JSON.parse(r.stdout) as typeof parsed;
    } catch {
      throw new UnavailableError(`${this.program} get: answer is not JSON`);
    }
    const username = typeof parsed.Username === "string" ? parsed.Username : "";
    const secret = typeof parsed.Secret === "string" ? parsed.Secret : "";
    if (username === "" && secret === "") return undefined;
    if (username === "<token>") return { username: "", password: "", identityToken: secret };
    return { username, password: secret };
  }

  async store(serverUrl: string, creds: StoredCredentials): Promise<void> {
    const record = creds.identityToken
      ? { ServerURL: serverUrl, Username: "<token>", Secret: creds.identityToken }
      : { ServerURL: serverUrl, Username: creds.username, Secret: creds.password };
    const r = await this.#run("store", JSON.stringify(record));
    if (r.code !== 0) throw this.#failure("store", r);
  }

  /** Forgets `serverUrl`; false when the helper had nothing for it. */
  async erase(serverUrl: string): Promise<boolean> {
    const r = await this.#run("erase", serverUrl);
    if (r.code === 0) return true;
    if (/credentials not found/i.test(r.stdout + r.stderr)) return false;
    throw this.#failure("erase", r);
  }

  #failure(verb: string, r: { code: number; stdout: string; stderr: string }): Error {
    const said = (r.stdout.trim() || r.stderr.trim()).split("\n")[0] ?? "";
    return new UnavailableError(`error ${verb === "get" ? "getting" : verb === "store" ? "storing" : "erasing"} credentials - err: ${this.program} ${verb} exited ${r.code}${said ? `, out: \`${said}\`` : ""}`);
  }

  #run(verb: string, input: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.program, [verb], { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", (err: NodeJS.ErrnoException) => {
        reject(err.code === "ENOENT" ? new FailedPreconditionError(`error getting credentials - err: exec: "${this.program}": executable file not found in $PATH`) : err);
      });
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.on("error", () => undefined);
      child.stdin.end(input);
    });
  }
}
