/** The runtime layer's public surface; see `runtime.ts` for the contract. */
export type {
  AttachSession,
  ContainerIO,
  ContainerInspector,
  ContainerLifecycle,
  ContainerSpecInput,
  CreateOptions,
  CreatedContainer,
  ExecHandle,
  ExecOptions,
  ExitStatus,
  LogEntry,
  MountInput,
  NetworkNamespace,
  NamespaceChoice,
  ProcessInput,
  ReadLogOptions,
  RecoveredContainer,
  ResolvedUser,
  Runtime,
  RuntimeState,
  TerminalSize,
  TopResult,
  UserIds,
} from "./runtime.js";
export type { OciSpec, OciProcess, OciMount, OciResources, OciLinux, OciNamespace } from "./oci-types.js";
export { ConmonRuntime, type ConmonRuntimeOptions } from "./conmon-runtime.js";
export { deviceAt, hostDevices, type OciDevice } from "./host-devices.js";
export { buildOciSpec, buildExecProcess, normalizeCapability, DEFAULT_CAPABILITIES, MASKED_PATHS, READONLY_PATHS } from "./oci-spec.js";
export { resolveGroups, resolveUser } from "./user.js";
export { defaultSeccomp, seccompFromDockerProfile } from "./seccomp.js";
export { parseSignal } from "./signals.js";
export { readLogs, parseTimestamp, formatNano, secondsToNano } from "./logs.js";
export { ProcessStartError, processStartErrorFrom } from "./process-start-error.js";
