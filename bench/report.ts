/** The comparison table the benchmarks print. */

export interface Row {
  id: string;
  measurement: string;
  unit: "ms" | "ctr/s" | "MiB" | "MB/s";
  wharf: number;
  docker: number;
  /** Which way is better for the raw values (and so for the wharf/docker ratio). */
  better: "lower" | "higher";
  /** Ratio bound: ratio ≤ target when lower is better, ratio ≥ target when higher is. */
  target: number;
  /**
   * A second reference besides Docker (e.g. the same traffic without any
   * engine in the way), with its own bound on wharf/baseline, read the same
   * way as `target`. A row with one is met only when both bounds are.
   */
  baseline?: { label: string; value: number; target: number };
}

export function ratioOf(r: Row): number {
  return r.wharf / r.docker;
}

/** wharf / baseline, or undefined for a row without a baseline. */
export function baselineRatioOf(r: Row): number | undefined {
  return r.baseline ? r.wharf / r.baseline.value : undefined;
}

const within = (q: number, better: Row["better"], target: number) => (better === "lower" ? q <= target : q >= target);

export function metOf(r: Row): boolean {
  const b = baselineRatioOf(r);
  return within(ratioOf(r), r.better, r.target) && (b === undefined || within(b, r.better, r.baseline!.target));
}

const fmt = (v: number, unit: Row["unit"]) => `${v.toFixed(1)} ${unit}`;
const bound = (better: Row["better"], target: number) => (better === "lower" ? `≤ ${target}` : `≥ ${target}`);

export function printTable(header: string[], rows: Row[], details: string[]): void {
  // The baseline columns appear only when some row has a baseline, so tables without one print as before.
  const label = rows.find((r) => r.baseline)?.baseline?.label;
  const table = [
    [
      "measurement",
      "wharf",
      "docker",
      "ratio wharf/docker",
      "target",
      ...(label ? [label, `ratio wharf/${label}`, "target"] : []),
      "met?",
    ],
    ...rows.map((r) => [
      r.measurement,
      fmt(r.wharf, r.unit),
      fmt(r.docker, r.unit),
      `${ratioOf(r).toFixed(2)} (${r.better} is better)`,
      bound(r.better, r.target),
      ...(label
        ? r.baseline
          ? [fmt(r.baseline.value, r.unit), baselineRatioOf(r)!.toFixed(2), bound(r.better, r.baseline.target)]
          : ["–", "–", "–"]
        : []),
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
