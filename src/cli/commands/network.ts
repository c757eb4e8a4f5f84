/**
 * `wharf network create|ls|inspect|rm|connect|disconnect` over /networks.
 * https://docs.docker.com/engine/api/v1.45/#tag/Network
 */
import { encodeFilters } from "../client.js";
import { collect, forEachTarget, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { GoTemplate } from "../format/go-template.js";
import { renderRows } from "../format/table.js";
import { truncateId } from "../../lib/humanize.js";
import { inspectJson } from "./inspect.js";
import { parseFilters } from "./ps.js";
import { parseLabels } from "../container-opts.js";
import { pruneNetworks } from "./prune.js";

interface ApiNetwork {
  Id: string;
  Name: string;
  Driver: string;
  Scope: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
  Created?: string;
}

const headers = { ID: "NETWORK ID", Name: "NAME", Driver: "DRIVER", Scope: "SCOPE", IPv6: "IPV6", Internal: "INTERNAL", Labels: "LABELS", CreatedAt: "CREATED" };

class NetworkContext {
  readonly #n: ApiNetwork;
  readonly #trunc: boolean;
  constructor(n: ApiNetwork, trunc: boolean) {
    this.#n = n;
    this.#trunc = trunc;
  }
  ID() {
    return this.#trunc ? truncateId(this.#n.Id) : this.#n.Id;
  }
  Name() {
    return this.#n.Name;
  }
  Driver() {
    return this.#n.Driver;
  }
  Scope() {
    return this.#n.Scope;
  }
  IPv6() {
    return String(!!this.#n.EnableIPv6);
  }
  Internal() {
    return String(!!this.#n.Internal);
  }
  Labels() {
    return Object.entries(this.#n.Labels ?? {}).map(([k, v]) => `${k}=${v}`).sort().join(",");
  }
  Label(name: unknown) {
    return (this.#n.Labels ?? {})[String(name)] ?? "";
  }
  CreatedAt() {
    return this.#n.Created ?? "";
  }
  toJSON() {
    return { CreatedAt: this.CreatedAt(), Driver: this.Driver(), ID: this.ID(), IPv6: this.IPv6(), Internal: this.Internal(), Labels: this.Labels(), Name: this.Name(), Scope: this.Scope() };
  }
}

function kv(verb: string, specs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of specs) {
    const eq = s.indexOf("=");
    if (eq <= 0) throw new UsageError(verb, `invalid key/value pair format in driver options: ${s}`);
    out[s.slice(0, eq)] = s.slice(eq + 1);
  }
  return out;
}

const subUsage = `
Usage:  wharf network COMMAND

Manage networks

Commands:
  connect     Connect a container to a network
  create      Create a network
  disconnect  Disconnect a container from a network
  inspect     Display detailed information on one or more networks
  ls          List networks
  prune       Remove all unused networks
  rm          Remove one or more networks

Run 'wharf network COMMAND --help' for more information on a command.
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
      return pruneNetworks(rest, io);
    case "connect":
      return connect(rest, io);
    case "disconnect":
      return disconnect(rest, io);
    case undefined:
    case "--help":
      io.stdout.write(subUsage);
      return 0;
    default:
      throw new UsageError("network", `unknown command "${sub}" for "wharf network"`);
  }
}

async function create(argv: string[], io: CliIo): Promise<number> {
  const verb = "network create";
  const cmd = newCommand(verb, "[OPTIONS] NETWORK", "Create a network", io.stdout)
    .option("-d, --driver <string>", "Driver to manage the Network", "bridge")
    .option("--subnet <strings>", "Subnet in CIDR format that represents a network segment", collect, [])
    .option("--gateway <strings>", "IPv4 or IPv6 Gateway for the master subnet", collect, [])
    .option("--ip-range <strings>", "Allocate container ip from a sub-range", collect, [])
    .option("--internal", "Restrict external access to the network")
    .option("--attachable", "Enable manual container attachment")
    .option("--ipv6", "Enable or disable IPv6 networking")
    .option("--label <list>", "Set metadata on a network", collect, [])
    .option("-o, --opt <map>", "Set driver specific options", collect, []);
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { exact: 1 });
  const subnets = o.subnet as string[];
  const gateways = o.gateway as string[];
  const ranges = o.ipRange as string[];
  if (gateways.length > subnets.length || ranges.length > subnets.length) {
    throw new UsageError(verb, "no matching subnet for gateway or ip-range");
  }
  const config = subnets.map((s, i) => ({
    Subnet: s,
    ...(gateways[i] ? { Gateway: gateways[i] } : {}),
    ...(ranges[i] ? { IPRange: ranges[i] } : {}),
  }));
  const r = await io.client.json<{ Id: string; Warning?: string }>("POST", "/networks/create", {
    body: {
      Name: args[0],
      Driver: o.driver,
      Internal: !!o.internal,
      Attachable: !!o.attachable,
      EnableIPv6: !!o.ipv6,
      Labels: parseLabels(o.label as string[]),
      Options: kv(verb, o.opt as string[]),
      IPAM: { Driver: "default", Config: config, Options: {} },
    },
  });
  if (r.Warning) io.stderr.write(`WARNING: ${r.Warning}\n`);
  io.stdout.write(`${r.Id}\n`);
  return 0;
}

async function ls(argv: string[], io: CliIo): Promise<number> {
  const verb = "network ls";
  const cmd = newCommand(verb, "[OPTIONS]", "List networks", io.stdout)
    .option("-f, --filter <filter>", "Provide filter values (e.g. 'driver=bridge')", collect, [])
    .option("--format <string>", "Format output using a custom template")
    .option("--no-trunc", "Do not truncate the output")
    .option("-q, --quiet", "Only display network IDs");
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { max: 0 });
  const nets = await io.client.json<ApiNetwork[]>("GET", "/networks", {
    query: { filters: encodeFilters(parseFilters(verb, o.filter as string[])) },
  });
  let format = (o.format as string | undefined) ?? "";
  if (o.quiet) format = "{{.ID}}";
  else if (format === "" || format === "table") format = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}";
  const rows = [...(nets ?? [])].sort((a, b) => a.Name.localeCompare(b.Name)).map((n) => new NetworkContext(n, o.trunc !== false));
  io.stdout.write(renderRows({ format, headers }, rows));
  return 0;
}

async function inspect(argv: string[], io: CliIo): Promise<number> {
  const verb = "network inspect";
  const cmd = newCommand(verb, "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks", io.stdout)
    .option("-f, --format <string>", "Format output using a custom template")
    .option("-v, --verbose", "Verbose output for diagnostics");
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { min: 1 });
  const template = o.format && o.format !== "json" ? GoTemplate.parse(String(o.format)) : undefined;
  const found: unknown[] = [];
  let failed = false;
  for (const name of args) {
    try {
      const n = await io.client.json("GET", `/networks/${encodeURIComponent(name)}`, { query: { verbose: !!o.verbose || undefined } });
      if (template) io.stdout.write(`${template.execute(n)}\n`);
      else found.push(n);
    } catch (err) {
      failed = true;
      io.stderr.write(`Error: No such network: ${name}\n`);
      void err;
    }
  }
  if (!template) io.stdout.write(`${inspectJson(found)}\n`);
  return failed ? 1 : 0;
}

async function rm(argv: string[], io: CliIo): Promise<number> {
  const verb = "network rm";
  const cmd = newCommand(verb, "NETWORK [NETWORK...]", "Remove one or more networks", io.stdout).option("-f, --force", "Do not error if the network does not exist");
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { min: 1 });
  return forEachTarget(io, args, async (name) => {
    try {
      await io.client.call("DELETE", `/networks/${encodeURIComponent(name)}`);
    } catch (err) {
      if (o.force && (err as { kind?: string }).kind === "not-found") return undefined;
      throw err;
    }
    return name;
  });
}

async function connect(argv: string[], io: CliIo): Promise<number> {
  const verb = "network connect";
  const cmd = newCommand(verb, "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network", io.stdout)
    .option("--alias <strings>", "Add network-scoped alias for the container", collect, [])
    .option("--ip <string>", "IPv4 address (e.g., 172.30.100.104)")
    .option("--ip6 <string>", "IPv6 address (e.g., 2001:db8::33)")
    .option("--link <list>", "Add link to another container", collect, []);
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { exact: 2 });
  const ipam = o.ip || o.ip6 ? { IPAMConfig: { ...(o.ip ? { IPv4Address: o.ip } : {}), ...(o.ip6 ? { IPv6Address: o.ip6 } : {}) } } : {};
  await io.client.call("POST", `/networks/${encodeURIComponent(args[0]!)}/connect`, {
    body: {
      Container: args[1],
      EndpointConfig: {
        ...ipam,
        ...((o.alias as string[]).length > 0 ? { Aliases: o.alias } : {}),
        ...((o.link as string[]).length > 0 ? { Links: o.link } : {}),
      },
    },
  });
  return 0;
}

async function disconnect(argv: string[], io: CliIo): Promise<number> {
  const verb = "network disconnect";
  const cmd = newCommand(verb, "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", io.stdout).option(
    "-f, --force",
    "Force the container to disconnect from a network",
  );
  const { options: o, args } = parseArgs(cmd, verb, argv);
  requireArgs(verb, args, { exact: 2 });
  await io.client.call("POST", `/networks/${encodeURIComponent(args[0]!)}/disconnect`, {
    body: { Container: args[1], Force: !!o.force },
  });
  return 0;
}
