/**
 * The two byte ranges the registry reads from clients:
 * - `Range` on a blob GET (RFC 9110 §14.2, one range only), for resumable pulls;
 * - `Content-Range` on an upload PATCH/PUT, which the distribution spec
 *   writes `<start>-<end>` (inclusive), for chunked pushes
 *   (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pushing-a-blob-in-chunks).
 */

/** An inclusive byte range. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

function int(s: string): number | undefined {
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * Resolves a `Range` header against a blob of `size` bytes:
 * - `undefined`: no usable range — serve the whole blob with 200 (RFC 9110
 *   lets a server ignore a malformed or multi-range header);
 * - `"unsatisfiable"`: answer 416 with `Content-Range: bytes *\/size`;
 * - a range: answer 206 with those bytes.
 */
export function resolveRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, first = "", last = ""] = m;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // Suffix range: the last N bytes.
    const n = int(last);
    if (n === undefined) return undefined;
    if (n === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = int(first);
  const end = last === "" ? size - 1 : int(last);
  if (start === undefined || end === undefined) return undefined;
  if (last !== "" && end < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}

/**
 * Parses an upload's `Content-Range`: the spec's `<start>-<end>`, also
 * accepting the RFC spelling `bytes <start>-<end>[/<total>|/*]` that some
 * clients send. `undefined` when it is not a range at all.
 */
export function parseContentRange(header: string): ByteRange | undefined {
  const m = /^\s*(?:bytes[ =]\s*)?(\d+)-(\d+)(?:\/(?:\d+|\*))?\s*$/i.exec(header);
  if (!m) return undefined;
  const start = int(m[1]!);
  const end = int(m[2]!);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

/**
 * The `Range` header of upload responses: `0-<last byte received>`. With no
 * bytes yet it is `0-0`, as Docker's registry writes it (clients read the
 * offset from it only after they sent something).
 */
export function uploadRangeHeader(offset: number): string {
  return `0-${offset > 0 ? offset - 1 : 0}`;
}
