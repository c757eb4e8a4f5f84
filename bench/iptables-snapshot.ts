/**
 * `iptables-save` snapshots, to put the firewall back as it was before a
 * benchmark's daemons ran. dockerd creates chains with fixed names
 * (`DOCKER`, `DOCKER-USER`, `DOCKER-ISOLATION-STAGE-*`) and hooks into the
 * builtin chains, and leaves all of it behind when it stops.
 *
 * take() before anything starts → run → undo(before, owns) once every
 * daemon is stopped → take() again and compare with `sameRules`.
 * undo() only removes what was added since `before` *and* what `owns`
 * claims; anything else that appeared meanwhile (another program's rules)
 * is reported, not touched.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { runCommand } from "../src/network/command.js";
import { InternalError } from "../src/lib/errors.js";

const execFileP = promisify(execFile);

interface TableDump {
  /** chain → policy (`ACCEPT`/`DROP` for builtin chains, `-` for user chains), in order. */
  chains: Map<string, string>;
  /** `-A CHAIN …` lines, in order. */
  rules: string[];
}

export interface Snapshot {
  /** `iptables-save` output without comments and counters. */
  text: string;
  tables: Map<string, TableDump>;
}

export async function takeSnapshot(cmd: "iptables-save" | "ip6tables-save" = "iptables-save"): Promise<Snapshot> {
  const { stdout } = await execFileP(cmd, [], { maxBuffer: 64 << 20 });
  return parseSave(stdout);
}

export function parseSave(out: string): Snapshot {
  const tables = new Map<string, TableDump>();
  const kept: string[] = [];
  let cur: TableDump | undefined;
  for (const raw of out.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    // Packet counters move with traffic; they are not configuration.
    const norm = line.replace(/ \[\d+:\d+\]$/, "");
    kept.push(norm);
    if (norm.startsWith("*")) {
      cur = { chains: new Map(), rules: [] };
      tables.set(norm.slice(1), cur);
    } else if (norm.startsWith(":") && cur) {
      const [name, policy] = norm.slice(1).split(" ");
      cur.chains.set(name!, policy ?? "-");
    } else if (norm.startsWith("-A ") && cur) {
      cur.rules.push(norm);
    }
  }
  return { text: kept.join("\n"), tables };
}

/** Lines only in `a` (prefixed `-`) and only in `b` (prefixed `+`); empty when the rule sets match. */
export function diffSnapshots(a: Snapshot, b: Snapshot): string[] {
  const out: string[] = [];
  for (const t of new Set([...a.tables.keys(), ...b.tables.keys()])) {
    const la = linesOf(a.tables.get(t));
    const lb = linesOf(b.tables.get(t));
    const gone = minus(la, lb).map((l) => `- ${t} ${l}`);
    const added = minus(lb, la).map((l) => `+ ${t} ${l}`);
    out.push(...gone, ...added);
    // The same lines in another order are still a different firewall.
    if (gone.length + added.length === 0 && la.join("\n") !== lb.join("\n")) out.push(`~ ${t}: same rules, different order`);
  }
  return out;
}

const linesOf = (d: TableDump | undefined) => (d ? [...[...d.chains].map(([c, p]) => `:${c} ${p}`), ...d.rules] : []);

/** Multiset difference, keeping `a`'s order. */
function minus(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const l of b) left.set(l, (left.get(l) ?? 0) + 1);
  const out: string[] = [];
  for (const l of a) {
    const n = left.get(l) ?? 0;
    if (n > 0) left.set(l, n - 1);
    else out.push(l);
  }
  return out;
}

/** Says whether a chain or rule that appeared during the run is this run's to remove. */
export interface Ownership {
  chain(table: string, name: string): boolean;
  rule(table: string, line: string): boolean;
}

export interface UndoResult {
  /** What was removed or reset, as `table: line`. */
  removed: string[];
  /** What appeared during the run but is not ours: left alone. */
  foreign: string[];
}

/**
 * Removes the chains and rules added since `before` that `owns` claims, and
 * puts back builtin chain policies that changed. One `iptables-restore
 * --noflush` per table (atomic per table); policies with `iptables -P`.
 */
export async function undoSince(before: Snapshot, owns: Ownership): Promise<UndoResult> {
  const now = await takeSnapshot();
  const removed: string[] = [];
  const foreign: string[] = [];
  let input = "";
  const policies: Array<[string, string, string]> = [];
  for (const [table, dump] of now.tables) {
    const prev = before.tables.get(table) ?? { chains: new Map<string, string>(), rules: [] };
    const newChains = [...dump.chains.keys()].filter((c) => !prev.chains.has(c));
    const ourChains = new Set(newChains.filter((c) => owns.chain(table, c)));
    for (const c of newChains) if (!ourChains.has(c)) foreign.push(`${table}: chain ${c}`);
    const deletes: string[] = [];
    for (const rule of minus(dump.rules, prev.rules)) {
      const chain = rule.split(" ")[1]!;
      if (ourChains.has(chain)) continue; // goes with its chain
      const jumpsToOurs = [...ourChains].some((c) => new RegExp(` -[jg] ${escapeRe(c)}( |$)`).test(rule));
      if (jumpsToOurs || owns.rule(table, rule)) deletes.push(`-D ${rule.slice(3)}`);
      else foreign.push(`${table}: ${rule}`);
    }
    for (const [chain, policy] of dump.chains) {
      const was = prev.chains.get(chain);
      if (was && was !== "-" && was !== policy) policies.push([table, chain, was]);
    }
    if (deletes.length === 0 && ourChains.size === 0) continue;
    input += `*${table}\n`;
    input += deletes.map((d) => `${d}\n`).join("");
    // Declaring a chain under --noflush flushes it; only then can it be deleted (our chains jump to each other).
    for (const c of ourChains) input += `:${c} - [0:0]\n`;
    for (const c of ourChains) input += `-X ${c}\n`;
    input += "COMMIT\n";
    removed.push(...deletes.map((d) => `${table}: ${d}`), ...[...ourChains].map((c) => `${table}: chain ${c}`));
  }
  if (input !== "") {
    const r = await runCommand("iptables-restore", ["-w", "--noflush"], input);
    if (r.code !== 0) throw new InternalError(`iptables-restore failed: ${r.stderr.trim()}\ninput:\n${input}`);
  }
  for (const [table, chain, policy] of policies) {
    await execFileP("iptables", ["-w", "-t", table, "-P", chain, policy]);
    removed.push(`${table}: policy of ${chain} back to ${policy}`);
  }
  return { removed, foreign };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Chains of `table` in `snap` whose names start with `prefix`. */
export function chainsStartingWith(snap: Snapshot, prefix: string): string[] {
  const out: string[] = [];
  for (const [table, dump] of snap.tables) for (const c of dump.chains.keys()) if (c.startsWith(prefix)) out.push(`${table}/${c}`);
  return out;
}
