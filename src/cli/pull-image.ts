/**
 * `POST /images/create?fromImage=…&tag=…` as the docker CLI makes it (for
 * `pull`, and for `run`/`create` when the image is missing), with its
 * progress drawn by `displayJsonMessages`.
 */
import type { Writable } from "node:stream";
import { familiarName, parseReference } from "../image/reference.js";
import type { CliIo } from "./command-kit.js";
import { displayJsonMessages, readJsonLines } from "./json-messages.js";
import { registryAuthHeader } from "./registry-auth.js";
import { InternalError } from "../lib/errors.js";

export interface PullOutput {
  /** Where progress goes (stdout for `pull`, stderr for `run`). */
  out: Writable;
  /** Only errors; no progress. */
  quiet: boolean;
  platform?: string;
  /** `pull -a`: no tag is sent, so the daemon pulls every tag of the repository. */
  allTags?: boolean;
}

/**
 * Pulls `image`; `InvalidArgumentError` for a malformed name before any
 * request, the daemon's error (or the stream's `error` message) otherwise.
 */
export async function pullImage(io: CliIo, image: string, o: PullOutput): Promise<void> {
  const ref = parseReference(image);
  const tag = o.allTags ? undefined : (ref.digest ?? ref.tag ?? "latest");
  const res = await io.client.stream("POST", "/images/create", {
    query: { fromImage: familiarName(ref), tag, platform: o.platform },
    headers: { "X-Registry-Auth": await registryAuthHeader(image, io.env) },
  });
  if (!o.quiet) {
    await displayJsonMessages(res, o.out, io.terminal.stdoutIsTty && o.out === io.stdout);
    return;
  }
  for await (const m of readJsonLines(res)) {
    if (m.error || m.errorDetail?.message) throw new InternalError(m.errorDetail?.message ?? m.error ?? "");
  }
}
