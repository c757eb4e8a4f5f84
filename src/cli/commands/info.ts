/** `wharf info`: GET /info, laid out like `docker info` (or rendered with --format). */
import { describeError, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { GoTemplate } from "../format/go-template.js";
import { bytesSize } from "../../lib/humanize.js";
import { packageVersion } from "../build-info.js";

type Info = Record<string, unknown> & {
  Containers?: number;
  ContainersRunning?: number;
  ContainersPaused?: number;
  ContainersStopped?: number;
  Images?: number;
  ServerVersion?: string;
  Driver?: string;
  DriverStatus?: Array<[string, string]> | null;
  LoggingDriver?: string;
  CgroupDriver?: string;
  CgroupVersion?: string;
  Runtimes?: Record<string, unknown>;
  DefaultRuntime?: string;
  KernelVersion?: string;
  OperatingSystem?: string;
  OSType?: string;
  Architecture?: string;
  NCPU?: number;
  MemTotal?: number;
  Name?: string;
  ID?: string;
  DockerRootDir?: string;
  Debug?: boolean;
  Labels?: string[] | null;
  Warnings?: string[] | null;
};

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("info", "[OPTIONS]", "Display system-wide information", io.stdout).option(
    "-f, --format <string>",
    "Format output using a custom template",
  );
  const { options: o, args } = parseArgs(cmd, "info", argv);
  requireArgs("info", args, { max: 0 });
  const clientInfo = { Version: packageVersion(), Context: "default", Debug: false };
  let info: Info | undefined;
  let serverError: unknown;
  try {
    info = await io.client.json<Info>("GET", "/info");
  } catch (err) {
    serverError = err;
  }
  if (o.format) {
    if (!info) throw serverError;
    io.stdout.write(`${GoTemplate.parse(String(o.format)).execute({ ...info, ClientInfo: clientInfo })}\n`);
    return 0;
  }
  let t = `Client:\n Version:    ${clientInfo.Version}\n Context:    default\n Debug Mode: false\n\nServer:\n`;
  if (!info) {
    io.stdout.write(t);
    io.stderr.write(`${describeError(serverError)}\n`);
    return 1;
  }
  const line = (k: string, v: unknown) => {
    if (v !== undefined && v !== "") t += ` ${k}: ${String(v)}\n`;
  };
  t += ` Containers: ${info.Containers ?? 0}\n  Running: ${info.ContainersRunning ?? 0}\n  Paused: ${info.ContainersPaused ?? 0}\n  Stopped: ${info.ContainersStopped ?? 0}\n`;
  line("Images", info.Images ?? 0);
  line("Server Version", info.ServerVersion);
  line("Storage Driver", info.Driver);
  for (const [k, v] of info.DriverStatus ?? []) t += `  ${k}: ${v}\n`;
  line("Logging Driver", info.LoggingDriver);
  line("Cgroup Driver", info.CgroupDriver);
  line("Cgroup Version", info.CgroupVersion);
  if (info.Runtimes) line("Runtimes", Object.keys(info.Runtimes).sort().join(" "));
  line("Default Runtime", info.DefaultRuntime);
  line("Kernel Version", info.KernelVersion);
  line("Operating System", info.OperatingSystem);
  line("OSType", info.OSType);
  line("Architecture", info.Architecture);
  line("CPUs", info.NCPU);
  if (info.MemTotal !== undefined) line("Total Memory", bytesSize(info.MemTotal));
  line("Name", info.Name);
  line("ID", info.ID);
  line("Docker Root Dir", info.DockerRootDir);
  line("Debug Mode", info.Debug ?? false);
  if (info.Labels && info.Labels.length > 0) t += ` Labels:\n${info.Labels.map((l) => `  ${l}\n`).join("")}`;
  io.stdout.write(t);
  for (const w of info.Warnings ?? []) io.stderr.write(`${w}\n`);
  return 0;
}
