import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import bcrypt from "bcryptjs";
import { InvalidArgumentError } from "../lib/errors.js";
import type { Logger } from "../lib/logger.js";

/**
 * An htpasswd file of bcrypt entries (`user:$2y$05$…`, as `htpasswd -B`
 * writes them). Other schemes (MD5 `$apr1$`, SHA, crypt) are skipped with a
 * warning: Docker's registry accepts only bcrypt too, and the others are weak.
 *
 * The file is re-read when it changes (checked at most once a second), so
 * users can be added without a restart. A successful check is remembered
 * (by a sha256 of the password, never the password) so that clients which
 * send Basic credentials on every request pay for bcrypt once.
 */
export class HtpasswdFile {
  readonly #path: string;
  readonly #log: Logger | undefined;
  #users = new Map<string, string>();
  #stamp = "";
  #checkedAt = 0;
  readonly #verified = new Map<string, string>();

  private constructor(path: string, log: Logger | undefined) {
    this.#path = path;
    this.#log = log;
  }

  /** Loads the file; a missing or unreadable file is an `InvalidArgumentError`. */
  static async load(path: string, log?: Logger): Promise<HtpasswdFile> {
    const f = new HtpasswdFile(path, log);
    try {
      await f.#reload(true);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read htpasswd file ${path}: ${(err as Error).message}`, { cause: err });
    }
    return f;
  }

  get size(): number {
    return this.#users.size;
  }

  async #reload(force = false): Promise<void> {
    const now = Date.now();
    if (!force && now - this.#checkedAt < 1000) return;
    this.#checkedAt = now;
    const st = await stat(this.#path);
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (!force && stamp === this.#stamp) return;
    const { users, skipped } = parseHtpasswd(await readFile(this.#path, "utf8"));
    for (const s of skipped) this.#log?.warn(`htpasswd ${this.#path}: ${s}`);
    this.#users = users;
    this.#stamp = stamp;
    this.#verified.clear();
  }

  /** True when `user`/`password` match an entry. Never throws for bad credentials. */
  async verify(user: string, password: string): Promise<boolean> {
    try {
      await this.#reload();
    } catch (err) {
      // Keep serving the users we know if the file is briefly missing (an editor's rename dance).
      this.#log?.warn(`htpasswd ${this.#path}: ${(err as Error).message}`);
    }
    const hash = this.#users.get(user);
    const key = `${user}\0${createHash("sha256").update(password).digest("hex")}`;
    if (hash !== undefined && this.#verified.get(key) === hash) return true;
    // Unknown users still cost a bcrypt round, so timing does not tell which users exist.
    const ok = await bcrypt.compare(password, hash ?? dummyHash);
    if (!ok || hash === undefined) return false;
    if (this.#verified.size > 1000) this.#verified.clear();
    this.#verified.set(key, hash);
    return true;
  }
}

const dummyHash = "$2y$05$PxfT/sv0C1KZPnawOod2xeVhoViDJu8OudIN3fxETlgwpoA2z4J/6";

/** Parses htpasswd text: bcrypt entries by user, and a note for each line skipped. */
export function parseHtpasswd(text: string): { users: Map<string, string>; skipped: string[] } {
  const users = new Map<string, string>();
  const skipped: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const colon = line.indexOf(":");
    if (colon <= 0) {
      skipped.push(`line ${i + 1}: not user:hash`);
      return;
    }
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
      skipped.push(`line ${i + 1}: user ${JSON.stringify(user)} has no bcrypt hash (only htpasswd -B entries are supported)`);
      return;
    }
    users.set(user, hash);
  });
  return { users, skipped };
}
