import { DigestMismatchError, SizeMismatchError } from "../content/ingest-errors.js";
import {
  ForbiddenError,
  InternalError,
  InvalidArgumentError,
  isWharfError,
  NotFoundError,
  UnauthorizedError,
  httpStatusOf,
  type WharfError,
} from "../lib/errors.js";

/**
 * The distribution spec's error codes
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#error-codes),
 * plus Docker's RANGE_INVALID and PAGINATION_NUMBER_INVALID. Their statuses
 * are the ones Docker's registry answers with; they are the registry edge's
 * mapping, as `httpStatusOf` is the engine API's.
 */
export type RegistryErrorCode =
  | "BLOB_UNKNOWN"
  | "BLOB_UPLOAD_INVALID"
  | "BLOB_UPLOAD_UNKNOWN"
  | "DIGEST_INVALID"
  | "MANIFEST_BLOB_UNKNOWN"
  | "MANIFEST_INVALID"
  | "MANIFEST_UNKNOWN"
  | "NAME_INVALID"
  | "NAME_UNKNOWN"
  | "SIZE_INVALID"
  | "TAG_INVALID"
  | "UNAUTHORIZED"
  | "DENIED"
  | "UNSUPPORTED"
  | "RANGE_INVALID"
  | "PAGINATION_NUMBER_INVALID"
  | "UNKNOWN";

const table: Record<RegistryErrorCode, { status: number; kind: new (m: string) => WharfError }> = {
  BLOB_UNKNOWN: { status: 404, kind: NotFoundError },
  BLOB_UPLOAD_INVALID: { status: 400, kind: InvalidArgumentError },
  BLOB_UPLOAD_UNKNOWN: { status: 404, kind: NotFoundError },
  DIGEST_INVALID: { status: 400, kind: InvalidArgumentError },
  MANIFEST_BLOB_UNKNOWN: { status: 400, kind: InvalidArgumentError },
  MANIFEST_INVALID: { status: 400, kind: InvalidArgumentError },
  MANIFEST_UNKNOWN: { status: 404, kind: NotFoundError },
  NAME_INVALID: { status: 400, kind: InvalidArgumentError },
  NAME_UNKNOWN: { status: 404, kind: NotFoundError },
  SIZE_INVALID: { status: 400, kind: InvalidArgumentError },
  TAG_INVALID: { status: 400, kind: InvalidArgumentError },
  UNAUTHORIZED: { status: 401, kind: UnauthorizedError },
  DENIED: { status: 403, kind: ForbiddenError },
  UNSUPPORTED: { status: 405, kind: InvalidArgumentError },
  RANGE_INVALID: { status: 416, kind: InvalidArgumentError },
  PAGINATION_NUMBER_INVALID: { status: 400, kind: InvalidArgumentError },
  UNKNOWN: { status: 500, kind: InternalError },
};

interface Tag {
  code: RegistryErrorCode;
  status: number;
  detail?: unknown;
  headers?: Record<string, string>;
}

const tags = new WeakMap<Error, Tag>();

/**
 * A `WharfError` of the kind that fits `code`, tagged with the code (and an
 * optional spec `detail`, a status other than the code's usual one, and
 * headers the response must carry, e.g. `Range` on a 416).
 */
export function registryError(
  code: RegistryErrorCode,
  message: string,
  extra: { detail?: unknown; status?: number; headers?: Record<string, string> } = {},
): WharfError {
  const entry = table[code];
  const err = new entry.kind(message);
  tags.set(err, { code, status: extra.status ?? entry.status, detail: extra.detail, headers: extra.headers });
  return err;
}

/** The registry code of an error, if it carries one. */
export function registryCodeOf(err: unknown): RegistryErrorCode | undefined {
  return err instanceof Error ? tags.get(err)?.code : undefined;
}

/** What the HTTP edge sends for an error: status, spec JSON body, extra headers. */
export interface ErrorResponse {
  status: number;
  body: { errors: Array<{ code: RegistryErrorCode; message: string; detail?: unknown }> };
  headers: Record<string, string>;
  /** True when the error is a fault of ours (log it), not the client's. */
  fault: boolean;
}

/**
 * Untagged `WharfError`s (say, an `InvalidArgumentError` from a lower layer)
 * keep their kind's status under the generic code; anything else is a 500.
 */
export function toErrorResponse(err: unknown): ErrorResponse {
  const tag = err instanceof Error ? tags.get(err) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (tag) {
    const entry: ErrorResponse["body"]["errors"][number] = { code: tag.code, message };
    if (tag.detail !== undefined) entry.detail = tag.detail;
    return { status: tag.status, body: { errors: [entry] }, headers: tag.headers ?? {}, fault: tag.status >= 500 };
  }
  if (err instanceof DigestMismatchError) {
    return toErrorResponse(registryError("DIGEST_INVALID", `provided digest did not match uploaded content: got ${err.actual}, expected ${err.expected}`, { detail: { digest: err.expected } }));
  }
  if (err instanceof SizeMismatchError) return toErrorResponse(registryError("SIZE_INVALID", err.message));
  if (isWharfError(err) && err.kind !== "internal") {
    return { status: httpStatusOf(err), body: { errors: [{ code: "UNKNOWN", message }] }, headers: {}, fault: false };
  }
  return { status: 500, body: { errors: [{ code: "UNKNOWN", message: "internal server error" }] }, headers: {}, fault: true };
}
