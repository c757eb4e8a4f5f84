export type {
  GcOptions,
  GcReport,
  ListenAddr,
  ManifestLink,
  ReferrerDescriptor,
  RegistryAuth,
  RegistryBlobs,
  RegistryServer,
  RegistryServerOptions,
  RepositoryStore,
  UploadSessions,
  UploadStatus,
} from "./registry-server.js";
export { startRegistryServer } from "./start-registry.js";
export { collectGarbage } from "./registry-gc.js";
export { registryError, toErrorResponse } from "./registry-errors.js";
export type { RegistryErrorCode } from "./registry-errors.js";
export { checkDigest, checkName, checkTag, isRepositoryName, isSha256Digest, isTag } from "./names.js";
export { TokenKeys } from "./token.js";
export type { Access, TokenClaims } from "./token.js";
