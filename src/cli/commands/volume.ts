/**
 * `wharf volume create|ls|inspect|rm` over /volumes.
 * https://docs.docker.com/engine/api/v1.45/#tag/Volume
 */
import { encodeFilters } from "../client.js";
import { collect, forEachTarget, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { GoTemplate } from "../format/go-template.js";
import { renderRows } from "../format/table.js";
import { parseLabels } from "../container-opts.js";
import { inspectJson } from "./inspect.js";
import { parseFilters } from "./ps.js";
import { pruneVolumes } from "./prune.js";

interface ApiVolume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
}

const headers = { Name: "VOLUME NAME", Driver: "DRIVER", Scope: "SCOPE", Mountpoint: "MOUNTPOINT", Labels: "LABELS", Label: "LABEL" };

class VolumeContext {
  readonly #v: ApiVolume;
  constructor(v: ApiVolume) {
    this.#v = v;
  }
  Name() {
    return this.#v.Name;
  }
  Driver() {
    return this.#v.Driver;
  }
  Scope() {
    return this.#v.Scope ?? "local";
  }
  Mountpoint() {
    return this.#v.Mountpoint;
  }
  Labels() {
    return Object.entries(this.#v.Labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(",");
  }
  Label(name: unknown) {
    return (this.#v.Labels ?? {})[String(name)] ?? "";
  }
  toJSON() {
    return { Driver: this.Driver(), Labels: this.Labels(), Mountpoint: this.Mountpoint(), Name: this.Name(), Scope: this.Scope() };
  }
}

const subUsage = `
Usage:  wharf volume COMMAND

Manage volumes

Commands:
  create      Create a volume
  inspect     Display detailed information on one or more volumes
  ls          List volumes
  prune       Remove unused local volumes
  rm          Remove one or more volumes

Run 'wharf volume COMMAND --help' for more information on a command.
`;

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  switch (sub) {
    case "create":
      return create(rest, io);
    case "ls":
    case "list":
      return ls(rest, io);
    case "inspect":
      return inspect(rest, io);
    case "rm":
    case "remove":
      return rm(rest, io);
    case "prune":
      return pruneVolumes(rest, io);
    case undefined:
    case "--help":
      io.stdout.write(subUsage);
      return 0;
    default:
      throw new UsageError("volume", `unknown command "${sub}" for "wharf volume"`);
  }
}

async function create(argv: string[], io: CliIo): Promise<number> {
  const verb = "volume create";
  const cmd = newCommand(verb, "[OPTIONS] [VOLUME]", "Create a volume", io.stdout)
    .option("-d, --driver <string>", "Specify volume driver name", "local")
    .option("--label <list>", "Set metadata for a volume", collect, [])
    .option("--name <string>", "Specify volume name")
    .option("-o, --opt <map>", "Set driver specific options", collect, []);
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { max: 1 });
  if (args[0] && o.name && args[0] !== o.name) {
    throw new UsageError(verb, `conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
  }
  const opts: Record<string, string> = {};
  for (const s of o.opt as string[]) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(verb, `invalid key/value pair format in driver options: ${s}`);
    opts[s.slice(0, eq)] = s.slice(eq + 1);
  }
  const v = await io.client.json<ApiVolume>("POST", "/volumes/create", {
    body: { Name: args[0] ?? o.name ?? "", Driver: o.driver, DriverOpts: opts, Labels: parseLabels(o.label as string[]) },
  });
  io.stdout.write(`${v.Name}\n`);
  return 0;
}

async function ls(argv: string[], io: CliIo): Promise<number> {
  const verb = "volume ls";
  const cmd = newCommand(verb, "[OPTIONS]", "List volumes", io.stdout)
    .option("-f, --filter <filter>", "Provide filter values (e.g. 'dangling=true')", collect, [])
    .option("--format <string>", "Format output using a custom template")
    .option("-q, --quiet", "Only display volume names");
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { max: 0 });
  const r = await io.client.json<{ Volumes: ApiVolume[] | null; Warnings?: string[] | null }>("GET", "/volumes", {
    query: { filters: encodeFilters(parseFilters(verb, o.filter as string[])) },
  });
  let format = (o.format as string | undefined) ?? "";
  if (o.quiet) format = "{{.Name}}";
  else if (format === "" || format === "table") format = "table {{.Driver}}\t{{.Name}}";
  const rows = [...(r.Volumes ?? [])].sort((a, b) => a.Name.localeCompare(b.Name)).map((v) => new VolumeContext(v));
  io.stdout.write(renderRows({ format, headers }, rows));
  for (const w of r.Warnings ?? []) io.stderr.write(`${w}\n`);
  return 0;
}

async function inspect(argv: string[], io: CliIo): Promise<number> {
  const verb = "volume inspect";
  const cmd = newCommand(verb, "[OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", io.stdout).option(
    "-f, --format <string>",
    "Format output using a custom template",
  );
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { min: 1 });
  const template = o.format && o.format !== "json" ? GoTemplate.parse(String(o.format)) : undefined;
  const found: unknown[] = [];
  let failed = false;
  for (const name of args) {
    try {
      const v = await io.client.json("GET", `/volumes/${encodeURIComponent(name)}`);
      if (template) io.stdout.write(`${template.execute(v)}\n`);
      else found.push(v);
    } catch {
      failed = true;
      io.stderr.write(`Error: No such volume: ${name}\n`);
    }
  }
  if (!template) io.stdout.write(`${inspectJson(found)}\n`);
  return failed ? 1 : 0;
}

async function rm(argv: string[], io: CliIo): Promise<number> {
  const verb = "volume rm";
  const cmd = newCommand(verb, "[OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", io.stdout).option(
    "-f, --force",
    "Force the removal of one or more volumes",
  );
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { min: 1 });
  return forEachTarget(io, args, async (name) => {
    await io.client.call("DELETE", `/volumes/${encodeURIComponent(name)}`, { query: { force: !!o.force || undefined } });
    return name;
  });
}
