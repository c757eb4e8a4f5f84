import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
  X509Certificate,
  type KeyObject,
} from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../lib/atomic-file.js";
import { errnoCode, InvalidArgumentError } from "../lib/errors.js";
import { registryError } from "./registry-errors.js";

/**
 * The bearer tokens of Docker's token scheme, as JWTs in the claim layout of
 * https://distribution.github.io/distribution/spec/auth/jwt/ (`iss`, `sub`,
 * `aud`, `exp`, `nbf`, `iat`, `jti`, `access: [{type,name,actions}]`).
 *
 * Signed with ES256 rather than an HMAC: the registry needs only the public
 * half to check a token, so the signing key can live with whichever token
 * server issues them (ours at `/token`, or another one whose public key or
 * certificate is given with `--token-key`), which is the split Docker's
 * design has; an HMAC secret would have to be shared by both. The `kid` is
 * the key's RFC 7638 thumbprint.
 */

/** One grant: `repository` `library/busybox` `["pull","push"]`, or `registry` `catalog` `["*"]`. */
export interface Access {
  readonly type: string;
  readonly name: string;
  readonly actions: string[];
}

export interface TokenClaims {
  readonly iss: string;
  readonly sub: string;
  readonly aud: string;
  readonly exp: number;
  readonly nbf: number;
  readonly iat: number;
  readonly jti: string;
  readonly access: Access[];
}

/** Clock skew tolerated on `exp`/`nbf`, in seconds. */
const leeway = 60;

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

export class TokenKeys {
  readonly #private: KeyObject | undefined;
  readonly #public: KeyObject;
  readonly kid: string;

  private constructor(priv: KeyObject | undefined, pub: KeyObject) {
    this.#private = priv;
    this.#public = pub;
    const jwk = pub.export({ format: "jwk" });
    // RFC 7638: the required members, in lexical order, no whitespace.
    const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
    this.kid = createHash("sha256").update(canonical).digest("base64url");
  }

  /** A fresh key pair, in memory only (tests). */
  static generate(): TokenKeys {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    return new TokenKeys(privateKey, publicKey);
  }

  /**
   * The key in `file` (PEM: a P-256 private key, a public key, or a
   * certificate), or — without a file — `<root>/auth/token-key.pem`,
   * generated (0600) the first time so tokens outlive restarts.
   */
  static async load(file: string | undefined, root: string): Promise<TokenKeys> {
    if (file !== undefined) return TokenKeys.fromPem(await readFile(file, "utf8"), file);
    const path = join(root, "auth", "token-key.pem");
    try {
      return TokenKeys.fromPem(await readFile(path, "utf8"), path);
    } catch (err) {
      if (errnoCode(err) !== "ENOENT") throw err;
    }
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    await writeFileAtomic(path, privateKey.export({ format: "pem", type: "pkcs8" }) as string, 0o600);
    return TokenKeys.fromPem(await readFile(path, "utf8"), path);
  }

  static fromPem(pem: string, what = "token key"): TokenKeys {
    let keys: TokenKeys;
    if (pem.includes("PRIVATE KEY")) {
      const priv = createPrivateKey(pem);
      keys = new TokenKeys(priv, createPublicKey(priv));
    } else if (pem.includes("BEGIN CERTIFICATE")) {
      keys = new TokenKeys(undefined, new X509Certificate(pem).publicKey);
    } else {
      keys = new TokenKeys(undefined, createPublicKey(pem));
    }
    const curve = keys.#public.asymmetricKeyDetails?.namedCurve;
    if (keys.#public.asymmetricKeyType !== "ec" || curve !== "prime256v1") {
      throw new InvalidArgumentError(`${what}: want an EC P-256 key for ES256, got ${keys.#public.asymmetricKeyType} ${curve ?? ""}`.trim());
    }
    return keys;
  }

  /** True when this key can issue tokens (it has the private half). */
  get canSign(): boolean {
    return this.#private !== undefined;
  }

  /** A signed token for `claims` (everything but `iat`/`nbf`/`jti`, which are filled in). */
  sign(claims: Omit<TokenClaims, "iat" | "nbf" | "jti">, now = Date.now()): string {
    if (!this.#private) throw new InvalidArgumentError("this token key has no private half: it cannot issue tokens");
    const iat = Math.floor(now / 1000);
    const full: TokenClaims = { ...claims, iat, nbf: iat - 1, jti: randomBytes(16).toString("hex") };
    const input = `${b64url(JSON.stringify({ typ: "JWT", alg: "ES256", kid: this.kid }))}.${b64url(JSON.stringify(full))}`;
    const sig = sign("sha256", Buffer.from(input), { key: this.#private, dsaEncoding: "ieee-p1363" });
    return `${input}.${b64url(sig)}`;
  }

  /**
   * The claims of a valid token: signed by this key, ES256, from `issuer`,
   * for `audience`, within its lifetime. Anything else is UNAUTHORIZED
   * (with `invalid_token` as the challenge's error).
   */
  verify(token: string, expect: { issuer: string; audience: string }, now = Date.now()): TokenClaims {
    const bad = (why: string) => registryError("UNAUTHORIZED", `invalid token: ${why}`, { detail: { error: "invalid_token" } });
    const parts = token.split(".");
    if (parts.length !== 3) throw bad("not a JWT");
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: unknown; kid?: unknown };
    let claims: Partial<TokenClaims> & { aud?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as typeof header;
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as typeof claims;
    } catch {
      throw bad("not a JWT");
    }
    if (header.alg !== "ES256") throw bad(`algorithm ${JSON.stringify(header.alg)} (want ES256)`);
    if (header.kid !== undefined && header.kid !== this.kid) throw bad("signed by an unknown key");
    const ok = verify("sha256", Buffer.from(`${h}.${p}`), { key: this.#public, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
    if (!ok) throw bad("bad signature");
    if (claims.iss !== expect.issuer) throw bad(`issuer ${JSON.stringify(claims.iss)}`);
    const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (!aud.includes(expect.audience)) throw bad(`audience ${JSON.stringify(claims.aud)}`);
    const t = Math.floor(now / 1000);
    if (typeof claims.exp !== "number" || claims.exp + leeway < t) throw bad("expired");
    if (typeof claims.nbf === "number" && claims.nbf - leeway > t) throw bad("not valid yet");
    const access = Array.isArray(claims.access) ? claims.access.filter(isAccess) : [];
    return { ...(claims as TokenClaims), aud: expect.audience, access };
  }
}

function isAccess(a: unknown): a is Access {
  if (typeof a !== "object" || a === null) return false;
  const x = a as Record<string, unknown>;
  return typeof x.type === "string" && typeof x.name === "string" && Array.isArray(x.actions) && x.actions.every((s) => typeof s === "string");
}
