export type { LayerSource, RwPaths, Snapshotter } from "./snapshotter.js";
export { OverlaySnapshotter } from "./overlay-snapshotter.js";
export { chainIds } from "./chain-id.js";
export { cleanEntryPath, unpackLayer } from "./unpack-layer.js";
export type { UnpackStats } from "./unpack-layer.js";
export { diffUpperDir, opaqueDirs } from "./layer-diff.js";
