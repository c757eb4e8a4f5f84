import { registryError } from "./registry-errors.js";

/**
 * `n`/`last` pagination of `tags/list` and `_catalog`
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-tags):
 * entries in lexical order, those after `last`, at most `n`, and a
 * `Link: <…?n=…&last=…>; rel="next"` header while more remain.
 */

export interface PageQuery {
  readonly n?: number;
  readonly last?: string;
}

export interface Page {
  readonly items: string[];
  /** The `last` of the next page when there is one. */
  readonly next?: string;
}

/**
 * The largest page served, whatever `n` asks: a client that asks for more
 * gets this many and a `Link` to the rest (the spec allows fewer than `n`
 * as long as `Link` says there is more).
 */
export const maxPageSize = 10_000;

/** Reads `n` and `last`; a bad `n` is PAGINATION_NUMBER_INVALID. */
export function parsePageQuery(params: URLSearchParams): PageQuery {
  const rawN = params.get("n");
  const last = params.get("last") ?? undefined;
  if (rawN === null || rawN === "") return last === undefined ? {} : { last };
  if (!/^\d+$/.test(rawN) || !Number.isSafeInteger(Number(rawN))) {
    throw registryError("PAGINATION_NUMBER_INVALID", `invalid number of results requested: ${JSON.stringify(rawN)}`, { detail: { n: rawN } });
  }
  return last === undefined ? { n: Number(rawN) } : { n: Number(rawN), last };
}

/** One page of `sorted` (which must already be in lexical order). */
export function paginate(sorted: readonly string[], query: PageQuery, max = maxPageSize): Page {
  let from = 0;
  if (query.last !== undefined) {
    const last = query.last;
    // First entry strictly after `last` (which need not itself be present).
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! <= last) lo = mid + 1;
      else hi = mid;
    }
    from = lo;
  }
  const size = Math.min(query.n ?? max, max);
  const items = sorted.slice(from, from + size);
  const more = from + size < sorted.length && items.length > 0;
  return more ? { items, next: items[items.length - 1]! } : { items };
}

/** `Link` header for the next page of `path` (e.g. `/v2/x/tags/list`). */
export function nextLink(path: string, next: string, n: number | undefined): string {
  const q = new URLSearchParams();
  if (n !== undefined) q.set("n", String(n));
  q.set("last", next);
  return `<${path}?${q.toString()}>; rel="next"`;
}
