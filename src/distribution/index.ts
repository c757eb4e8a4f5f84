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
// The client half.
export type {
  BlobReader,
  BlobSources,
  FetchedManifest,
  RegistryClient,
  RegistryClientOptions,
  RegistryCredentials,
  RegistrySession,
  RepositoryAction,
  SessionOptions,
} from "./registry-client.js";
export { HttpRegistryClient } from "./http-registry-client.js";
export { FileBlobSources, noBlobSources } from "./blob-sources.js";
export { pullImage } from "./pull.js";
export type { PullOptions, PullResult } from "./pull.js";
export { pushImage } from "./push.js";
export type { PushOptions, PushResult } from "./push.js";
export { parseChallenges, findChallenge } from "./auth-challenge.js";
export type { Challenge } from "./auth-challenge.js";
export { CredentialsFile, credentialKey, dockerConfigPath, dockerHubAuthKey } from "./credentials.js";
export type { StoredCredentials } from "./credentials.js";
export { credentialsOf, decodeAuthHeader, encodeAuthHeader, normalizeAuthConfig } from "./auth-config.js";
export type { AuthConfig } from "./auth-config.js";
export { checkInsecureRegistry, parseRemoteReference, resolveEndpoint } from "./registry-endpoint.js";
export type { RegistryEndpoint } from "./registry-endpoint.js";
export { formatPlatform, hostPlatform, parsePlatform, selectManifest } from "./platform.js";
export type { IndexEntry, Platform } from "./platform.js";
export type { ProgressMessage, ProgressSink } from "./progress.js";
