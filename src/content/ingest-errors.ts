import { InvalidArgumentError } from "../lib/errors.js";

/**
 * Why an ingest refused its data, for callers that must answer in their own
 * protocol's words (the registry's DIGEST_INVALID and SIZE_INVALID). Both
 * are `InvalidArgumentError`s, so everyone else sees a 400.
 */
export class DigestMismatchError extends InvalidArgumentError {
  constructor(readonly expected: string, readonly actual: string) {
    super(`blob digest mismatch: got ${actual}, expected ${expected}`);
  }
}

export class SizeMismatchError extends InvalidArgumentError {
  constructor(readonly expected: number, message: string) {
    super(message);
  }
}
