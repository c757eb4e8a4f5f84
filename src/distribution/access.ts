import type { IncomingHttpHeaders } from "node:http";
import type { HtpasswdFile } from "./htpasswd.js";
import { isRepositoryName } from "./names.js";
import { registryError } from "./registry-errors.js";
import type { Access, TokenKeys } from "./token.js";

/**
 * Who may do what. Each request needs a list of `Access` entries (empty for
 * `GET /v2/`: "any authenticated client"), derived from its route the way
 * Docker's registry does: GET/HEAD → `pull`; uploads and manifest PUT →
 * `pull,push`; DELETE → `delete`; `_catalog` → `registry:catalog:*`.
 * Scopes are written `type:name:action[,action]` (the token spec's form,
 * https://distribution.github.io/distribution/spec/auth/scope/).
 */

/** What a request may do once authenticated. */
export interface Grant {
  readonly user?: string;
  /** True when the request may also do `action` on `type:name` (e.g. `pull` on a mount's source). */
  can(type: string, name: string, action: string): boolean;
}

export interface Authorizer {
  /** The grant, or a thrown UNAUTHORIZED carrying the `WWW-Authenticate` challenge. */
  authorize(headers: IncomingHttpHeaders, required: readonly Access[]): Promise<Grant>;
}

export function scopeString(a: Access): string {
  return `${a.type}:${a.name}:${a.actions.join(",")}`;
}

/**
 * Parses scope parameters (each may hold several space-separated scopes).
 * Entries that are not `type:name:actions` are dropped. The name is what sits
 * between the first and last colon, so a `repository(plugin)` type keeps its class.
 */
export function parseScopes(values: readonly string[]): Access[] {
  const out: Access[] = [];
  for (const v of values) {
    for (const s of v.split(" ")) {
      const first = s.indexOf(":");
      const last = s.lastIndexOf(":");
      if (first <= 0 || last === first) continue;
      const type = s.slice(0, first);
      const name = s.slice(first + 1, last);
      const actions = s.slice(last + 1).split(",").filter(Boolean);
      if (name === "" || actions.length === 0) continue;
      out.push({ type, name, actions });
    }
  }
  return out;
}

/** True when `granted` covers every action of every `required` entry (`*` covers all). */
export function covers(granted: readonly Access[], required: readonly Access[]): boolean {
  return required.every((r) =>
    r.actions.every((action) => granted.some((g) => g.type === r.type && g.name === r.name && (g.actions.includes(action) || g.actions.includes("*")))),
  );
}

const allowAll: Grant = { can: () => true };

export const noAuth: Authorizer = {
  authorize: async () => allowAll,
};

/** `user:password` from a Basic `Authorization` header. */
export function basicCredentials(headers: IncomingHttpHeaders): { user: string; password: string } | undefined {
  const h = headers.authorization;
  if (!h || !/^basic\s+/i.test(h)) return undefined;
  const decoded = Buffer.from(h.replace(/^basic\s+/i, "").trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, "\\$&")}"`;
}

function unauthorized(challenge: string, required: readonly Access[], message = "authentication required") {
  const detail = required.flatMap((a) => a.actions.map((action) => ({ Type: a.type, Name: a.name, Action: action })));
  return registryError("UNAUTHORIZED", message, {
    headers: { "WWW-Authenticate": challenge },
    ...(detail.length > 0 ? { detail } : {}),
  });
}

/** HTTP Basic against an htpasswd file: an authenticated user may do everything. */
export function basicAuth(htpasswd: HtpasswdFile, realm: string): Authorizer {
  const challenge = `Basic realm=${quote(realm)}`;
  return {
    async authorize(headers, required) {
      const creds = basicCredentials(headers);
      if (!creds || !(await htpasswd.verify(creds.user, creds.password))) throw unauthorized(challenge, required);
      return { user: creds.user, can: () => true };
    },
  };
}

/**
 * Bearer tokens. The challenge is Docker Hub's:
 * `Bearer realm="…",service="…",scope="repository:name:pull,push"`, plus
 * `error="invalid_token"` or `error="insufficient_scope"` when a token was
 * sent but does not do (RFC 6750 §3).
 */
export function bearerAuth(keys: TokenKeys, opts: { realm: string; issuer: string; service: string }): Authorizer {
  const challenge = (required: readonly Access[], error?: string) => {
    let c = `Bearer realm=${quote(opts.realm)},service=${quote(opts.service)}`;
    if (required.length > 0) c += `,scope=${quote(required.map(scopeString).join(" "))}`;
    if (error) c += `,error=${quote(error)}`;
    return c;
  };
  return {
    async authorize(headers, required) {
      const h = headers.authorization;
      if (!h || !/^bearer\s+/i.test(h)) throw unauthorized(challenge(required), required);
      let access: Access[];
      let user: string;
      try {
        const claims = keys.verify(h.replace(/^bearer\s+/i, "").trim(), { issuer: opts.issuer, audience: opts.service });
        access = claims.access;
        user = claims.sub;
      } catch (err) {
        throw unauthorized(challenge(required, "invalid_token"), required, (err as Error).message);
      }
      if (!covers(access, required)) throw unauthorized(challenge(required, "insufficient_scope"), required, "insufficient scope");
      return {
        ...(user ? { user } : {}),
        can: (type, name, action) => covers(access, [{ type, name, actions: [action] }]),
      };
    },
  };
}

/** The `repository` scope a client may ask the token endpoint for, with the actions the registry knows. */
export function grantable(a: Access): Access | undefined {
  if (a.type === "repository" && isRepositoryName(a.name)) {
    const actions = a.actions.filter((x) => x === "pull" || x === "push" || x === "delete" || x === "*");
    return actions.length > 0 ? { type: a.type, name: a.name, actions } : undefined;
  }
  if (a.type === "registry" && a.name === "catalog" && a.actions.includes("*")) return { type: "registry", name: "catalog", actions: ["*"] };
  return undefined;
}
