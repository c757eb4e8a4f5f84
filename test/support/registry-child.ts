/**
 * Runs `wharf registry …` through the verb's own `execute` in a child
 * process, as `bin/wharf.js registry …` will once main.ts registers the verb
 * (the integration suite must not depend on that wiring).
 */
import process from "node:process";
import { EngineClient } from "../../src/cli/client.js";
import type { CliIo } from "../../src/cli/command-kit.js";
import { reportError } from "../../src/cli/main.js";
import { execute } from "../../src/cli/commands/registry.js";

const io: CliIo = {
  client: new EngineClient("unix:///nonexistent/wharf.sock"),
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  terminal: {
    stdinIsTty: false,
    stdoutIsTty: false,
    setRawMode() {},
    size: () => undefined,
    onResize: () => () => {},
    onSignal(cb) {
      const on = (s: NodeJS.Signals) => () => cb(s.slice(3));
      const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, on(s)] as const);
      for (const [s, h] of handlers) process.on(s, h);
      return () => handlers.forEach(([s, h]) => process.off(s, h));
    },
  },
  env: process.env,
};

execute(process.argv.slice(2), io).then(
  (code) => process.exit(code),
  (err: unknown) => process.exit(reportError(err, "registry", process.stderr, !!process.env.WHARF_DEBUG)),
);
