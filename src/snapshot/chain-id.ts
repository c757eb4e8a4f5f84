import { createHash } from "node:crypto";
import { assertDigest } from "../content/digest.js";

/**
 * Chain IDs of a layer stack, bottom first, per the OCI image spec
 * (https://github.com/opencontainers/image-spec/blob/main/config.md#layer-chainid):
 * ChainID(L0) = DiffID(L0), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)).
 */
export function chainIds(diffIds: readonly string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    assertDigest(diffId);
    const prev = out[out.length - 1];
    out.push(prev === undefined ? diffId : `sha256:${createHash("sha256").update(`${prev} ${diffId}`).digest("hex")}`);
  }
  return out;
}
