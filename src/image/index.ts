export type {
  ContainerConfig,
  CreateImageOptions,
  HistoryEntry,
  HistoryItem,
  ImageConfig,
  ImageReader,
  ImageRecord,
  ImageStore,
  ImageWriter,
  LayerDescriptor,
} from "./image-store.js";
export { LocalImageStore } from "./local-image-store.js";
export {
  defaultDomain,
  defaultTag,
  familiarName,
  familiarString,
  formatReference,
  isIdentifier,
  isValidDomain,
  isValidTag,
  parseAnyReference,
  parseNormalizedTagged,
  parseReference,
  withDefaultTag,
} from "./reference.js";
export type { Reference } from "./reference.js";
export { importRootfs, loadImages, saveImages } from "./archive.js";
export type { ImportOptions, LoadResult } from "./archive.js";
export { commitImage } from "./commit.js";
export type { CommitOptions } from "./commit.js";
export { describeLayerBlob, ingestLayer } from "./layer-blob.js";
export { MediaTypes, isGzipLayerType, ociArchitecture } from "./media-types.js";
