export type { BlobInfo, ContentStore, Digest, ExpectedBlob, Ingester, Manager, Provider } from "./content-store.js";
export { LocalContentStore } from "./local-content-store.js";
export { assertDigest, digestHex, isDigest, sha256Digest } from "./digest.js";
export { decompressed, sniff } from "./compression.js";
export type { Compression } from "./compression.js";
export { readAll, tarEntries } from "./tar-entries.js";
export type { TarEntry, TarHeader } from "./tar-entries.js";
export { DigestMismatchError, SizeMismatchError } from "./ingest-errors.js";
