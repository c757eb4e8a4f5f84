/**
 * The closed set of error kinds Wharf raises for conditions a caller may
 * handle (see DESIGN.md §5). Each kind maps once to an HTTP status at the API
 * edge (`httpStatusOf`) and to a one-line message plus exit code in the CLI.
 * Anything that is not a `WharfError` is a real fault: a 500 and a log line.
 */
export type ErrorKind =
  | "not-found"
  | "already-exists"
  | "invalid-argument"
  | "conflict"
  | "failed-precondition"
  | "unavailable"
  | "unauthorized"
  | "forbidden"
  | "not-modified"
  | "internal";

export abstract class WharfError extends Error {
  abstract readonly kind: ErrorKind;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The thing asked for does not exist (404). */
export class NotFoundError extends WharfError {
  readonly kind = "not-found" as const;
}
/** Creating something whose name is taken (409). */
export class AlreadyExistsError extends WharfError {
  readonly kind = "already-exists" as const;
}
/** The request itself is malformed or has a bad value (400). */
export class InvalidArgumentError extends WharfError {
  readonly kind = "invalid-argument" as const;
}
/** The request is valid but clashes with the current state (409). */
export class ConflictError extends WharfError {
  readonly kind = "conflict" as const;
}
/** The object is in a state that does not allow the operation (409 by Docker's habit, e.g. exec in a stopped container). */
export class FailedPreconditionError extends WharfError {
  readonly kind = "failed-precondition" as const;
}
/** A dependency (runtime, registry, daemon) cannot be reached (503). */
export class UnavailableError extends WharfError {
  readonly kind = "unavailable" as const;
}
/** Credentials missing or wrong (401). */
export class UnauthorizedError extends WharfError {
  readonly kind = "unauthorized" as const;
}
/** Credentials fine, permission not (403). */
export class ForbiddenError extends WharfError {
  readonly kind = "forbidden" as const;
}
/** Nothing to do: already started, already stopped (304, as Docker answers). */
export class NotModifiedError extends WharfError {
  readonly kind = "not-modified" as const;
}
/** A real fault with a message worth showing (500). */
export class InternalError extends WharfError {
  readonly kind = "internal" as const;
}

const statusByKind: Record<ErrorKind, number> = {
  "not-found": 404,
  "already-exists": 409,
  "invalid-argument": 400,
  conflict: 409,
  "failed-precondition": 409,
  unavailable: 503,
  unauthorized: 401,
  forbidden: 403,
  "not-modified": 304,
  internal: 500,
};

export function httpStatusOf(err: unknown): number {
  return err instanceof WharfError ? statusByKind[err.kind] : 500;
}

export function isWharfError(err: unknown): err is WharfError {
  return err instanceof WharfError;
}

/** Node's errno-style errors (`ENOENT`, `EEXIST`, …). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err
    ? String((err as { code: unknown }).code)
    : undefined;
}
