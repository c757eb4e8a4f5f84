/** `wharf port`: GET /containers/{id}/json → NetworkSettings.Ports, as "80/tcp -> 0.0.0.0:8080". */
import { NotFoundError } from "../../lib/errors.js";
import { newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";

type PortMap = Record<string, Array<{ HostIp: string; HostPort: string }> | null>;

function hostPort(b: { HostIp: string; HostPort: string }): string {
  const ip = b.HostIp || "0.0.0.0";
  return ip.includes(":") ? `[${ip}]:${b.HostPort}` : `${ip}:${b.HostPort}`;
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("port", "CONTAINER [PRIVATE_PORT[/PROTO]]", "List port mappings or a specific mapping for the container", io.stdout);
  const { args } = parseArgs(cmd, "port", argv);
  requireArgs("port", args, { min: 1, max: 2 });
  const c = await io.client.json<{ NetworkSettings?: { Ports?: PortMap | null } }>(
    "GET",
    `/containers/${encodeURIComponent(args[0]!)}/json`,
  );
  const ports: PortMap = c.NetworkSettings?.Ports ?? {};
  if (args[1] !== undefined) {
    const [port, proto = "tcp"] = args[1].split("/");
    const key = `${port}/${proto}`;
    const bindings = ports[key];
    if (!bindings || bindings.length === 0) {
      throw new NotFoundError(`Error: No public port '${key}' published for ${args[0]}`);
    }
    for (const b of bindings) io.stdout.write(`${hostPort(b)}\n`);
    return 0;
  }
  const keys = Object.keys(ports).sort((a, b) => parseInt(a) - parseInt(b) || a.localeCompare(b));
  for (const k of keys) for (const b of ports[k] ?? []) io.stdout.write(`${k} -> ${hostPort(b)}\n`);
  return 0;
}
