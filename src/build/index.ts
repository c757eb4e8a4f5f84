export type * from "./dockerfile.js";
export { parseDockerfile, DockerfileSyntaxError } from "./dockerfile-parser.js";
export { expandWord, expandWords } from "./shell-words.js";
export { DockerIgnore } from "./dockerignore.js";
export { BuildCache } from "./build-cache.js";
export { Builder, BuildStepError } from "./builder.js";
export type { BuildRequest, BuildReporter, BuilderDeps } from "./builder.js";
