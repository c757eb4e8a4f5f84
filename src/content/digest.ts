import { createHash } from "node:crypto";
import { InvalidArgumentError } from "../lib/errors.js";
import type { Digest } from "./content-store.js";

const digestPattern = /^sha256:[a-f0-9]{64}$/;

/** True for a canonical `sha256:<64 lowercase hex>` digest. */
export function isDigest(value: unknown): value is Digest {
  return typeof value === "string" && digestPattern.test(value);
}

/** Throws `InvalidArgumentError` unless `value` is a canonical sha256 digest. */
export function assertDigest(value: unknown): Digest {
  if (!isDigest(value)) {
    throw new InvalidArgumentError(`invalid digest: ${JSON.stringify(value)} (want sha256:<64 lowercase hex>)`);
  }
  return value;
}

/** The hex part of a digest (after validating it). */
export function digestHex(digest: Digest): string {
  return assertDigest(digest).slice("sha256:".length);
}

export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}
