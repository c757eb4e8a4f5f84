import type { IncomingMessage, ServerResponse } from "node:http";
import { basicCredentials, grantable, parseScopes } from "./access.js";
import type { HtpasswdFile } from "./htpasswd.js";
import { registryError } from "./registry-errors.js";
import type { Access, TokenKeys } from "./token.js";

/**
 * The token server of Docker's scheme, served by the registry itself
 * (https://distribution.github.io/distribution/spec/auth/token/#requesting-a-token):
 *
 * - `GET /token?service=…&scope=…[&scope=…]` with optional Basic credentials
 *   (what `docker login/pull/push` and skopeo send);
 * - `POST /token` with an OAuth2 form, `grant_type=password` (what
 *   containerd tries first, https://distribution.github.io/distribution/spec/auth/oauth/).
 *
 * Answer: `{token, access_token, expires_in, issued_at}`. Wrong credentials
 * are a 401; no credentials give an anonymous token, which grants nothing
 * when there is an htpasswd file (so a pull then fails with
 * `insufficient_scope`, as a private repository on Docker Hub does) and
 * everything asked for when there is none.
 */
export interface TokenEndpointOptions {
  readonly keys: TokenKeys;
  readonly issuer: string;
  readonly service: string;
  readonly htpasswd?: HtpasswdFile;
  readonly expiresInSeconds: number;
  /** Realm of the Basic challenge sent with a 401 for bad credentials. */
  readonly realm: string;
}

export class TokenEndpoint {
  readonly #o: TokenEndpointOptions;

  constructor(o: TokenEndpointOptions) {
    this.#o = o;
  }

  /** Handles a request to the token path; errors are thrown for the caller's error writer. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    let params: URLSearchParams;
    let creds: { user: string; password: string } | undefined;
    if (req.method === "GET" || req.method === "HEAD") {
      params = url.searchParams;
      creds = basicCredentials(req.headers);
    } else if (req.method === "POST") {
      params = new URLSearchParams(await readForm(req));
      const grant = params.get("grant_type");
      if (grant !== "password") {
        throw registryError("UNSUPPORTED", `grant_type ${JSON.stringify(grant)} is not supported (use password)`, { status: 400 });
      }
      creds = { user: params.get("username") ?? "", password: params.get("password") ?? "" };
    } else {
      throw registryError("UNSUPPORTED", `${req.method} is not allowed on the token endpoint`, { headers: { Allow: "GET, POST" } });
    }
    const service = params.get("service");
    if (service !== null && service !== this.#o.service) {
      throw registryError("UNSUPPORTED", `this token server issues tokens for ${JSON.stringify(this.#o.service)}, not ${JSON.stringify(service)}`, { status: 400 });
    }
    let user = "";
    if (creds) {
      if (this.#o.htpasswd && !(await this.#o.htpasswd.verify(creds.user, creds.password))) {
        throw registryError("UNAUTHORIZED", "incorrect username or password", {
          headers: { "WWW-Authenticate": `Basic realm="${this.#o.realm}"` },
        });
      }
      user = creds.user;
    }
    const trusted = user !== "" || !this.#o.htpasswd;
    const access: Access[] = trusted ? parseScopes(params.getAll("scope")).map(grantable).filter((a): a is Access => a !== undefined) : [];
    const now = Date.now();
    const token = this.#o.keys.sign(
      { iss: this.#o.issuer, sub: user, aud: this.#o.service, exp: Math.floor(now / 1000) + this.#o.expiresInSeconds, access: merge(access) },
      now,
    );
    const body = JSON.stringify({
      token,
      access_token: token,
      expires_in: this.#o.expiresInSeconds,
      issued_at: new Date(now).toISOString(),
    });
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" });
    res.end(req.method === "HEAD" ? undefined : body);
  }
}

/** One entry per type:name, actions united (a client may ask for the same repository twice). */
function merge(list: Access[]): Access[] {
  const byKey = new Map<string, Access>();
  for (const a of list) {
    const key = `${a.type}:${a.name}`;
    const prev = byKey.get(key);
    byKey.set(key, prev ? { ...a, actions: [...new Set([...prev.actions, ...a.actions])] } : a);
  }
  return [...byKey.values()];
}

async function readForm(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 64 * 1024) throw registryError("SIZE_INVALID", "token request body too large", { status: 413 });
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}
