import { Readable } from "node:stream";
import type { ReadableStream } from "node:stream/web";
import { InvalidArgumentError } from "./errors.js";

/**
 * Opens an http(s) URL for a user's `ADD <url>` or `import <url>`: the body
 * as a Node stream and the response headers. Anything but a 2xx answer, or a
 * URL that cannot be reached, is the user's input being wrong, so it is an
 * `InvalidArgumentError` naming the URL (the daemon answers 400).
 */
export async function openDownload(url: string, signal?: AbortSignal): Promise<{ body: Readable; headers: Headers }> {
  if (!/^https?:\/\//i.test(url)) throw new InvalidArgumentError(`unsupported URL (only http and https): ${url}`);
  let res: Response;
  try {
    res = await fetch(url, { signal, redirect: "follow" });
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    throw new InvalidArgumentError(`failed to download ${url}: ${cause ?? (err as Error).message}`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new InvalidArgumentError(`failed to download ${url}: ${res.status} ${res.statusText}`);
  }
  return { body: Readable.fromWeb(res.body as ReadableStream), headers: res.headers };
}
