/** What every benchmark shares: its main, Ctrl-C cleaning up first, the host line of its header. */
import { availableParallelism, release } from "node:os";

/** On SIGINT, SIGTERM or SIGHUP: `cleanup()` (which must be safe to call twice), then exit 130. */
export function cleanupOnSignals(cleanup: () => Promise<unknown>, log: (s: string) => void): void {
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/** Runs the benchmark; a failure is logged with its stack and the exit code is 1. */
export function runBench(main: () => Promise<void>, log: (s: string) => void): void {
  main().catch((err: unknown) => {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  });
}

/** The host part of every benchmark's header: Node, kernel, CPUs. */
export function hostVersions(): { node: string; kernel: string; cpus: number } {
  return { node: process.version, kernel: release(), cpus: availableParallelism() };
}
