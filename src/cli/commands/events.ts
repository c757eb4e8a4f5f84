/** `wharf events`: GET /events (a JSON stream) → docker's one-line-per-event layout or --format. */
import { encodeFilters } from "../client.js";
import { collect, newCommand, parseArgs, requireArgs, UsageError, type CliIo } from "../command-kit.js";
import { GoTemplate } from "../format/go-template.js";
import { apiTimestamp } from "../../lib/humanize.js";
import { readLines } from "../json-messages.js";
import { parseFilters } from "./ps.js";

export interface EventMessage {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
  /** timeNano exactly (a JSON number beyond 2^53 loses its last digits in JSON.parse). */
  timeNanoExact?: bigint;
  status?: string;
  id?: string;
  from?: string;
}

/** RFC 3339 with fixed nanoseconds in local time ("2006-01-02T15:04:05.000000000Z07:00"). */
export function rfc3339NanoFixed(timeNano: bigint): string {
  const ms = Number(timeNano / 1_000_000n);
  const nanos = String(timeNano % 1_000_000_000n).padStart(9, "0");
  const d = new Date(ms);
  const offMin = -d.getTimezoneOffset();
  const local = new Date(ms + offMin * 60_000).toISOString().slice(0, 19);
  const zone =
    offMin === 0
      ? "Z"
      : `${offMin > 0 ? "+" : "-"}${String(Math.floor(Math.abs(offMin) / 60)).padStart(2, "0")}:${String(Math.abs(offMin) % 60).padStart(2, "0")}`;
  return `${local}.${nanos}${zone}`;
}

export function prettyEvent(e: EventMessage): string {
  let out = "";
  if (e.timeNanoExact !== undefined || e.timeNano) out += `${rfc3339NanoFixed(e.timeNanoExact ?? BigInt(e.timeNano!))} `;
  else if (e.time) out += `${rfc3339NanoFixed(BigInt(e.time) * 1_000_000_000n)} `;
  out += `${e.Type ?? ""} ${e.Action ?? ""} ${e.Actor?.ID ?? ""}`;
  const attrs = e.Actor?.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length > 0) out += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(", ")})`;
  return `${out}\n`;
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("events", "[OPTIONS]", "Get real time events from the server", io.stdout)
    .option("-f, --filter <filter>", "Filter output based on conditions provided", collect, [])
    .option("--format <string>", "Format output using a custom template")
    .option("--since <string>", "Show all events created since timestamp")
    .option("--until <string>", "Stream events until this timestamp");
  const { options: o, args } = parseArgs(cmd, "events", argv);
  requireArgs("events", args, { max: 0 });
  const ts = (v: unknown) => {
    if (v === undefined) return undefined;
    try {
      return apiTimestamp(String(v));
    } catch (e) {
      throw new UsageError("events", (e as Error).message);
    }
  };
  const format = o.format as string | undefined;
  const template = format && format !== "json" ? GoTemplate.parse(format) : undefined;
  const res = await io.client.stream("GET", "/events", {
    query: { since: ts(o.since), until: ts(o.until), filters: encodeFilters(parseFilters("events", o.filter as string[])) },
  });
  for await (const line of readLines(res)) {
    const ev = JSON.parse(line) as EventMessage;
    if (format === "json") {
      io.stdout.write(`${line}\n`);
      continue;
    }
    if (template) {
      io.stdout.write(`${template.execute(ev)}\n`);
      continue;
    }
    const exact = /"timeNano":\s*(\d+)/.exec(line);
    if (exact) ev.timeNanoExact = BigInt(exact[1]!);
    io.stdout.write(prettyEvent(ev));
  }
  return 0;
}
