import { InvalidArgumentError } from "../lib/errors.js";
import type { RegistryCredentials } from "./registry-client.js";

/**
 * The credentials a Docker Engine API client hands the daemon for one
 * registry operation: the JSON of `POST /auth`, and (base64url-encoded) the
 * `X-Registry-Auth` header of `POST /images/create` and
 * `POST /images/{name}/push`
 * (https://docs.docker.com/engine/api/v1.45/#section/Authentication).
 */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** `base64(username:password)`, as in config.json; some clients send only this. */
  auth?: string;
  serveraddress?: string;
  /** An OAuth refresh token from an earlier login. */
  identitytoken?: string;
  /** A bearer token to send to the registry as-is. */
  registrytoken?: string;
  email?: string;
}

/** The header value the docker CLI sends (base64url of the JSON). */
export function encodeAuthHeader(config: AuthConfig): string {
  return Buffer.from(JSON.stringify(config)).toString("base64url");
}

/**
 * Decodes `X-Registry-Auth`. Empty or absent means anonymous (`{}`); clients
 * differ in padding and alphabet, so both base64 flavours are accepted.
 * `InvalidArgumentError` when it is not base64 JSON.
 */
export function decodeAuthHeader(value: string | string[] | undefined): AuthConfig {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === "") return {};
  let parsed: unknown;
  try {
    const b64 = v.trim().replace(/-/g, "+").replace(/_/g, "/");
    parsed = JSON.parse(Buffer.from(b64, "base64").toString("utf8"));
  } catch (err) {
    throw new InvalidArgumentError(`invalid X-Registry-Auth header: ${(err as Error).message}`, { cause: err });
  }
  return normalizeAuthConfig(parsed);
}

/** Keeps the string fields of an auth config, expanding `auth` into username/password when they are absent. */
export function normalizeAuthConfig(value: unknown): AuthConfig {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  const o = value as Record<string, unknown>;
  const out: AuthConfig = {};
  for (const k of ["username", "password", "auth", "serveraddress", "identitytoken", "registrytoken", "email"] as const) {
    if (typeof o[k] === "string" && o[k] !== "") out[k] = o[k] as string;
  }
  if (out.auth && out.username === undefined) {
    const plain = Buffer.from(out.auth, "base64").toString("utf8");
    const colon = plain.indexOf(":");
    if (colon >= 0) {
      out.username = plain.slice(0, colon);
      out.password = plain.slice(colon + 1);
    }
  }
  return out;
}

/** What a registry session needs of an auth config (anonymous when it names no one). */
export function credentialsOf(config: AuthConfig): RegistryCredentials | undefined {
  if (config.registrytoken) return { registryToken: config.registrytoken };
  if (config.username === undefined) return undefined;
  return { username: config.username, password: config.password ?? "" };
}
