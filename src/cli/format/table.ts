/**
 * Docker's output formatting: `--format` templates with the `table` prefix
 * (header row + aligned columns), `json` (one JSON object a line) and plain
 * templates (one rendered line a row). Columns are aligned like Go's
 * text/tabwriter with docker's settings (minwidth 10, padding 3, spaces).
 */
import { GoTemplate, goJson } from "./go-template.js";

/** Go text/tabwriter with docker's parameters: cells end at '\t'; the last cell of a line is not aligned. */
export function tabwrite(text: string, minwidth = 10, padding = 3): string {
  const lines = text.split("\n");
  const trailingNewline = lines[lines.length - 1] === "";
  if (trailingNewline) lines.pop();
  const rows = lines.map((l) => l.split("\t"));
  const widths: number[] = [];
  for (const cells of rows) {
    for (let c = 0; c < cells.length - 1; c++) {
      const w = Math.max(minwidth, [...cells[c]!].length + padding);
      if (w > (widths[c] ?? 0)) widths[c] = w;
    }
  }
  const out = rows.map((cells) =>
    cells.map((cell, c) => (c < cells.length - 1 ? cell + " ".repeat(widths[c]! - [...cell].length) : cell)).join(""),
  );
  return out.join("\n") + (trailingNewline ? "\n" : "");
}

export interface FormatSpec {
  /** The user's --format (or the command's default). */
  format: string;
  /** Header names by field, for `table` output (e.g. { ID: "CONTAINER ID" }). */
  headers: Record<string, string>;
}

/** Whether a format string asks for a table (`table …`). */
export function isTable(format: string): boolean {
  return format.startsWith("table");
}

/** docker's preFormat: strips `table`, trims spaces, turns literal `\t`/`\n` into tab/newline. */
export function templateOf(format: string): string {
  let f = isTable(format) ? format.slice("table".length) : format;
  f = f.replace(/^ +| +$/g, "");
  return f.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
}

/**
 * Renders rows (formatter contexts: objects whose fields the template reads).
 * The header comes from running the template on an object that answers each
 * field with its header name, which is how docker derives it.
 */
export function renderRows(spec: FormatSpec, rows: readonly object[]): string {
  const fmt = spec.format;
  if (fmt === "json") {
    return rows.map((r) => `${goJson(toPlain(r))}\n`).join("");
  }
  const tpl = GoTemplate.parse(templateOf(fmt));
  let out = "";
  const table = isTable(fmt);
  if (table) {
    const header: Record<string, unknown> = {};
    // Fields called with an argument (`.Label "com.example"`) are headed by that argument, as docker does.
    for (const [k, v] of Object.entries(spec.headers)) header[k] = (...args: unknown[]) => (args.length > 0 ? String(args[0]) : v);
    out += `${tpl.execute(header)}\n`;
  }
  for (const r of rows) out += `${tpl.execute(r)}\n`;
  return table ? tabwrite(out) : out;
}

/** A context object as JSON: every no-argument getter/field, by its template name. */
export function toPlain(row: object): Record<string, unknown> {
  const withJson = row as { toJSON?: () => Record<string, unknown> };
  if (typeof withJson.toJSON === "function") return withJson.toJSON();
  return { ...row };
}
