/** The comparison table the engine benchmark prints. */

export interface Row {
  id: string;
  measurement: string;
  unit: "ms" | "ctr/s" | "MiB";
  wharf: number;
  docker: number;
  /** Which way is better for the raw values (and so for the wharf/docker ratio). */
  better: "lower" | "higher";
  /** Ratio bound: ratio ≤ target when lower is better, ratio ≥ target when higher is. */
  target: number;
}

export function ratioOf(r: Row): number {
  return r.wharf / r.docker;
}

export function metOf(r: Row): boolean {
  const q = ratioOf(r);
  return r.better === "lower" ? q <= r.target : q >= r.target;
}

const fmt = (v: number, unit: Row["unit"]) => (unit === "ms" ? `${v.toFixed(1)} ms` : unit === "MiB" ? `${v.toFixed(1)} MiB` : `${v.toFixed(1)} ctr/s`);

export function printTable(header: string[], rows: Row[], details: string[]): void {
  const table = [
    ["measurement", "wharf", "docker", "ratio wharf/docker", "target", "met?"],
    ...rows.map((r) => [
      r.measurement,
      fmt(r.wharf, r.unit),
      fmt(r.docker, r.unit),
      `${ratioOf(r).toFixed(2)} (${r.better} is better)`,
      r.better === "lower" ? `≤ ${r.target}` : `≥ ${r.target}`,
      metOf(r) ? "yes" : "NO",
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]) => "| " + row.map((c, i) => c.padEnd(widths[i]!)).join(" | ") + " |";
  const out = [
    ...header,
    "",
    line(table[0]!),
    "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|",
    ...table.slice(1).map(line),
    "",
    ...details,
  ];
  process.stdout.write(out.join("\n") + "\n");
}
