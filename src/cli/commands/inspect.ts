/**
 * `wharf inspect`: GET /{containers,images,networks,volumes}/{name}/json.
 * Without --type each name is tried as a container, then an image, a
 * network and a volume, like docker. Output: an indented JSON array, or one
 * rendered `-f` template a line.
 */
import { daemonStatusOf } from "../client.js";
import { describeError, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { GoTemplate } from "../format/go-template.js";

const kinds = {
  container: (n: string) => `/containers/${encodeURIComponent(n)}/json`,
  image: (n: string) => `/images/${encodeURIComponent(n)}/json`,
  network: (n: string) => `/networks/${encodeURIComponent(n)}`,
  volume: (n: string) => `/volumes/${encodeURIComponent(n)}`,
} as const;
type Kind = keyof typeof kinds;

/** JSON the way dockerd writes it (HTML-safe escapes), indented like `docker inspect`. */
export function inspectJson(values: unknown[]): string {
  const s = JSON.stringify(values, null, 4);
  return s.replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("inspect", "[OPTIONS] NAME|ID [NAME|ID...]", "Return low-level information on Wharf objects", io.stdout)
    .option("-f, --format <string>", "Format output using a custom template")
    .option("-s, --size", "Display total file sizes if the type is container")
    .option("--type <string>", "Return JSON for specified type");
  const { options: o, args } = parseArgs(cmd, "inspect", argv);
  requireArgs("inspect", args, { min: 1 });
  const type = o.type as string | undefined;
  if (type !== undefined && !(type in kinds)) {
    throw new UsageError("inspect", `"${type}" is not a valid value for --type`);
  }
  const format = o.format as string | undefined;
  const template = format && format !== "json" ? GoTemplate.parse(format.replace(/\\t/g, "\t").replace(/\\n/g, "\n")) : undefined;
  const order: Kind[] = type ? [type as Kind] : ["container", "image", "network", "volume"];
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const name of args) {
    let value: unknown;
    let lastErr: unknown;
    for (const kind of order) {
      try {
        value = await io.client.json("GET", kinds[kind](name), {
          query: kind === "container" && o.size ? { size: true } : undefined,
        });
        break;
      } catch (err) {
        if (daemonStatusOf(err) !== 404) throw err;
        lastErr = err;
      }
    }
    if (value === undefined) {
      errors.push(type ? describeError(lastErr) : `Error: No such object: ${name}`);
      continue;
    }
    if (template) {
      try {
        io.stdout.write(`${template.execute(value)}\n`);
      } catch (err) {
        errors.push(`template: ${(err as Error).message.replace(/^template: /, "")}`);
      }
    } else found.push(value);
  }
  if (!template) io.stdout.write(`${inspectJson(found)}\n`);
  for (const e of errors) io.stderr.write(`${e}\n`);
  return errors.length > 0 ? 1 : 0;
}
