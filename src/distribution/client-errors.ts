import { STATUS_CODES } from "node:http";
import {
  ForbiddenError,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  UnauthorizedError,
  UnavailableError,
  errnoCode,
  isWharfError,
  type WharfError,
} from "../lib/errors.js";

/**
 * What the registry client makes of failed exchanges: registry error bodies
 * in Docker's wording, and which failures are worth another attempt.
 */

/** Statuses a retry may cure (the registry or a proxy in front of it is overloaded or restarting). */
const retryableStatuses = new Set([408, 429, 500, 502, 503, 504]);

/** Connection-level failures a retry may cure. */
const retryableCodes = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "ECONNABORTED", "EAI_AGAIN", "ENETUNREACH", "EHOSTUNREACH", "ERR_STREAM_PREMATURE_CLOSE", "UND_ERR_SOCKET"]);

const retryable = new WeakSet<Error>();

/** Marks an error as transient (a retry may succeed). */
export function transient<E extends Error>(err: E): E {
  retryable.add(err);
  return err;
}

export function isRetryableStatus(status: number): boolean {
  return retryableStatuses.has(status);
}

/** True for errors a bounded retry should try to get past. Aborts never are. */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "AbortError") return false;
  if (retryable.has(err)) return true;
  if (isWharfError(err)) return false;
  const code = errnoCode(err);
  return (code !== undefined && retryableCodes.has(code)) || /socket hang up|premature close|aborted/i.test(err.message);
}

interface ErrorBody {
  errors?: Array<{ code?: string; message?: string; detail?: unknown }>;
  /** Token servers (and Docker Hub's) sometimes answer `{"details": "…"}`. */
  details?: string;
  message?: string;
}

/**
 * An error for a registry answer `status` with `body`, worded like Docker:
 * `<code as words>: <message>` (`unauthorized: authentication required`,
 * `manifest unknown: manifest unknown`), else the status line. `what` (e.g.
 * `GET http://…/v2/x/manifests/latest`) is prefixed for statuses that need
 * the context. Transient statuses are marked retryable.
 */
export function registryResponseError(status: number, body: Buffer, what?: string): WharfError {
  // A HEAD answer has no body; Docker's words for the bare statuses then.
  const bare = status === 401 ? "unauthorized: authentication required" : status === 403 ? "denied: requested access to the resource is denied" : `${status} ${STATUS_CODES[status] ?? ""}`.trim();
  const text = describeBody(body) ?? bare;
  let err: WharfError;
  if (status === 401) err = new UnauthorizedError(text);
  else if (status === 403) err = new ForbiddenError(text);
  else if (status === 404) err = new NotFoundError(text);
  else if (status >= 400 && status < 500 && !isRetryableStatus(status)) err = new InvalidArgumentError(text);
  else if (status >= 500 || isRetryableStatus(status)) err = new UnavailableError(what ? `${what}: received unexpected HTTP status: ${status} ${STATUS_CODES[status] ?? ""}`.trim() : text);
  else err = new InternalError(what ? `${what}: unexpected HTTP status ${status}` : text);
  return isRetryableStatus(status) ? transient(err) : err;
}

function describeBody(body: Buffer): string | undefined {
  const s = body.toString("utf8").trim();
  if (s === "") return undefined;
  try {
    const parsed = JSON.parse(s) as ErrorBody;
    const errors = Array.isArray(parsed.errors) ? parsed.errors : [];
    if (errors.length > 0) {
      return errors
        .map((e) => {
          const code = typeof e.code === "string" ? e.code.toLowerCase().replace(/_/g, " ") : "unknown";
          return e.message ? `${code}: ${e.message}` : code;
        })
        .join("; ");
    }
    if (typeof parsed.details === "string") return parsed.details;
    if (typeof parsed.message === "string") return parsed.message;
  } catch {
    // Not JSON: a proxy's HTML page or plain text; only a short one is worth showing.
  }
  return s.length <= 200 && !s.startsWith("<") ? s : undefined;
}

/** The error to report after the last attempt: transient failures become `UnavailableError` naming the attempts. */
export function finalError(err: unknown, what: string, attempts: number): Error {
  if (!(err instanceof Error)) return new InternalError(`${what}: ${String(err)}`);
  if (err.name === "AbortError") return err;
  if (isWharfError(err) && !isTransient(err)) return err;
  const detail = isWharfError(err) ? err.message : `${err.message}${errnoCode(err) && !err.message.includes(errnoCode(err)!) ? ` (${errnoCode(err)})` : ""}`;
  const bare = detail.startsWith(`${what}: `) ? detail.slice(what.length + 2) : detail;
  const times = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
  return new UnavailableError(`${what}: ${bare} (gave up after ${times})`, { cause: err });
}
