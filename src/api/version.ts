/** The Docker Engine API versions we speak; clients negotiate down from their own via `/_ping`. */
export const maxApiVersion = "1.45";
export const minApiVersion = "1.24";
export const wharfVersion = "0.1.0";

export function compareApiVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split(".").map(Number);
  const [bmaj = 0, bmin = 0] = b.split(".").map(Number);
  return amaj - bmaj || amin - bmin;
}
