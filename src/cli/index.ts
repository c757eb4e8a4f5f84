/**
 * The CLI's public surface for other layers and tests. `main.ts` does not
 * import this file: the `wharf` binary loads only what a verb needs.
 */
export { main, parseGlobalFlags, reportError, resolveHost, resolveVerb } from "./main.js";
export { EngineClient, clientMaxApiVersion, daemonStatusOf, defaultHost, encodeFilters, errorFromStatus } from "./client.js";
export type { HijackedConnection, RequestOptions } from "./client.js";
export type { CliIo, Terminal } from "./command-kit.js";
export { demuxStream, encodeFrame, StdcopyParser } from "./stdcopy.js";
export { GoTemplate, renderTemplate } from "./format/go-template.js";
export { containerStatusText, humanDuration, humanSize, humanSizeWithPrecision, timeAgo } from "../lib/humanize.js";
export { parseDaemonArgs } from "./commands/daemon.js";
