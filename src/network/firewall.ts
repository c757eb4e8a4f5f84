/**
 * Wharf's iptables rules. Wharf owns a handful of chains (named from one
 * prefix, `WHARF` by default) and hooks each into a builtin chain with a
 * single jump rule, so Docker's and Wharf's rules coexist:
 *
 *   nat    PREROUTING  -m addrtype --dst-type LOCAL -j WHARF      published ports (DNAT)
 *   nat    OUTPUT      -m addrtype --dst-type LOCAL -j WHARF      … also from the host itself, 127.0.0.1 included
 *   nat    POSTROUTING -j WHARF-POSTROUTING                       masquerade (outbound, loopback, hairpin)
 *   filter FORWARD     -j WHARF-FORWARD                           → WHARF-ISOLATION-1/-2 (networks can't talk), accept/drop
 *
 * The owned chains are derived state: `apply` rewrites them whole from the
 * current networks and port bindings in one `iptables-restore --noflush`
 * (declaring a chain there flushes it), which is atomic per table and never
 * leaves a stale rule behind.
 *
 * Loopback: `-p 5000:5000` must answer on 127.0.0.1:5000 from the host. We
 * DNAT in nat/OUTPUT and set `route_localnet=1` on the bridge so the kernel
 * routes a 127.0.0.1-sourced packet out of it, then masquerade it to the
 * gateway address (`--src-type LOCAL`) so the container can answer. This
 * is Docker's `--userland-proxy=false` path: the kernel forwards the bytes,
 * no user-space copy (see the throughput numbers in the report/bench).
 */
import { mustRun, runCommand } from "./command.js";
import { InternalError } from "../lib/errors.js";

export interface FirewallNetwork {
  bridge: string;
  /** `10.213.0.0/16` */
  subnet: string;
  internal: boolean;
}

export interface FirewallPort {
  containerId: string;
  protocol: "tcp" | "udp";
  /** `""` = every local address. */
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

export interface FirewallState {
  networks: FirewallNetwork[];
  ports: FirewallPort[];
}

export interface ChainNames {
  dnat: string;
  postrouting: string;
  forward: string;
  isolation1: string;
  isolation2: string;
  input: string;
}

export function chainNames(prefix: string): ChainNames {
  return {
    dnat: prefix,
    postrouting: `${prefix}-POSTROUTING`,
    forward: `${prefix}-FORWARD`,
    isolation1: `${prefix}-ISOLATION-1`,
    isolation2: `${prefix}-ISOLATION-2`,
    input: `${prefix}-INPUT`,
  };
}

type Table = "nat" | "filter";

interface Hook {
  table: Table;
  chain: string;
  /** The rule as `iptables-save` prints it, without `-A <chain> `. */
  spec: string;
}

function hooksOf(c: ChainNames): Hook[] {
  return [
    { table: "nat", chain: "PREROUTING", spec: `-m addrtype --dst-type LOCAL -j ${c.dnat}` },
    { table: "nat", chain: "OUTPUT", spec: `-m addrtype --dst-type LOCAL -j ${c.dnat}` },
    { table: "nat", chain: "POSTROUTING", spec: `-j ${c.postrouting}` },
    { table: "filter", chain: "FORWARD", spec: `-j ${c.forward}` },
    { table: "filter", chain: "INPUT", spec: `-j ${c.input}` },
  ];
}

function ownedChains(c: ChainNames, table: Table): string[] {
  return table === "nat" ? [c.dnat, c.postrouting] : [c.forward, c.isolation1, c.isolation2, c.input];
}

const shortId = (id: string) => id.slice(0, 12);

/** The rules of one table's owned chains, in `iptables-restore` syntax (no header, no COMMIT). */
export function renderTable(c: ChainNames, table: Table, state: FirewallState): string[] {
  const lines: string[] = [];
  if (table === "nat") {
    for (const p of state.ports) lines.push(`-A ${portRules(c, p).dnat}`);
    for (const n of state.networks) {
      if (!n.internal) lines.push(`-A ${c.postrouting} -s ${n.subnet} ! -o ${n.bridge} -j MASQUERADE`);
      // 127.0.0.1 → container (DNAT in OUTPUT) must leave with an address the container can answer.
      lines.push(`-A ${c.postrouting} -o ${n.bridge} -m addrtype --src-type LOCAL -j MASQUERADE`);
    }
    // Hairpin: a container reaching its own published port through a host address.
    for (const p of state.ports) lines.push(`-A ${portRules(c, p).hairpin}`);
    return lines;
  }
  lines.push(`-A ${c.forward} -j ${c.isolation1}`);
  // A published port is public: a container on another network may use it too (both directions of the connection match).
  lines.push(`-A ${c.isolation1} -m conntrack --ctstate DNAT -j RETURN`);
  for (const n of state.networks) {
    const b = n.bridge;
    if (n.internal) {
      lines.push(`-A ${c.forward} -i ${b} ! -o ${b} -j DROP`, `-A ${c.forward} -o ${b} ! -i ${b} -j DROP`);
    }
    lines.push(
      `-A ${c.forward} -o ${b} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
      // Published ports: whatever our DNAT rules redirected may come in.
      `-A ${c.forward} -o ${b} -m conntrack --ctstate DNAT -j ACCEPT`,
      `-A ${c.forward} -i ${b} ! -o ${b} -j ACCEPT`,
      `-A ${c.forward} -i ${b} -o ${b} -j ACCEPT`,
      // Nothing else reaches a container from outside its network (Docker ≥ 28 does the same).
      `-A ${c.forward} -o ${b} -j DROP`,
    );
    lines.push(`-A ${c.isolation1} -i ${b} ! -o ${b} -j ${c.isolation2}`);
    lines.push(`-A ${c.isolation2} -o ${b} -j DROP`);
    // route_localnet (needed for 127.0.0.1 → published port) would also let a container
    // reach the host's loopback-only services by crafting packets to 127.0.0.0/8
    // (CVE-2020-8558). Only the replies of our own DNATed connections may come in.
    lines.push(`-A ${c.input} -d 127.0.0.0/8 -i ${b} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
  }
  lines.push(`-A ${c.isolation1} -j RETURN`, `-A ${c.isolation2} -j RETURN`);
  return lines;
}

const hookKey = (h: Hook) => `${h.table} -A ${h.chain} ${h.spec}`;

/** How many copies of each hook (by `hookKey`) `iptables-save` output has. */
export function presentHooks(c: ChainNames, saved: string): Map<string, number> {
  const wanted = new Set(hooksOf(c).map(hookKey));
  const present = new Map<string, number>();
  let table = "";
  for (const raw of saved.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("*")) table = line.slice(1);
    const key = `${table} ${line}`;
    if (line.startsWith("-A ") && wanted.has(key)) present.set(key, (present.get(key) ?? 0) + 1);
  }
  return present;
}

function chainsPresent(saved: string, names: string[]): Set<string> {
  const found = new Set<string>();
  for (const line of saved.split("\n")) {
    const m = /^:(\S+) /.exec(line);
    if (m && names.includes(m[1]!)) found.add(m[1]!);
  }
  return found;
}

/** The nat rules one published port needs (the DNAT and its hairpin masquerade). */
export function portRules(c: ChainNames, p: FirewallPort): { dnat: string; hairpin: string } {
  const dst = p.hostIp === "" || p.hostIp === "0.0.0.0" ? "" : `-d ${p.hostIp}/32 `;
  return {
    dnat: `${c.dnat} ${dst}-p ${p.protocol} -m ${p.protocol} --dport ${p.hostPort} -m comment --comment wharf:${shortId(p.containerId)} -j DNAT --to-destination ${p.containerIp}:${p.containerPort}`,
    hairpin: `${c.postrouting} -s ${p.containerIp}/32 -d ${p.containerIp}/32 -p ${p.protocol} -m ${p.protocol} --dport ${p.containerPort} -j MASQUERADE`,
  };
}

/**
 * Applies the owned chains. All changes go through one queue, in order.
 *
 * Two ways to change them: `rewrite` renders whole tables from the current
 * state (networks changed, recovery), and `addPorts`/`removePorts` append
 * or delete just a container's rules. The second exists for latency: with
 * the nf_tables backend, appending rules commits in ~1.5 ms while any
 * rule deletion (a flush included) costs ~15 ms of kernel-side
 * synchronization, and `run -d -p` is on the hot path. A failed
 * incremental change falls back to a rewrite, so the chains still end up
 * matching the state.
 */
export class Firewall {
  readonly names: ChainNames;
  readonly #state: () => FirewallState;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(prefix: string, state: () => FirewallState) {
    this.names = chainNames(prefix);
    this.#state = state;
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.catch(() => {}).then(fn);
    this.#queue = next.catch(() => {});
    return next;
  }

  /** Create the owned chains, add missing hooks, render both tables. Safe to call again. */
  install(): Promise<void> {
    return this.#enqueue(async () => {
      const saved = await mustRun("iptables-save", []);
      const present = presentHooks(this.names, saved);
      let input = "";
      for (const table of ["nat", "filter"] as const) {
        input += `*${table}\n`;
        input += this.#render(table);
        for (const h of hooksOf(this.names)) {
          if (h.table === table && !present.has(hookKey(h))) input += `-I ${h.chain} 1 ${h.spec}\n`;
        }
        input += "COMMIT\n";
      }
      await this.#restore(input);
    });
  }

  /** Rewrite the owned chains of `tables` from the current state. */
  rewrite(tables: readonly Table[] = ["nat", "filter"]): Promise<void> {
    return this.#enqueue(async () => {
      let input = "";
      for (const table of tables) input += `*${table}\n${this.#render(table)}COMMIT\n`;
      await this.#restore(input);
    });
  }

  /**
   * Append the rules of newly published ports. `applied` runs in the same
   * queue slot, right after the commit: from then on the state must render
   * these ports (and not before, or a rewrite queued ahead would add them
   * twice).
   */
  addPorts(ports: readonly FirewallPort[], applied: () => void): Promise<void> {
    return this.#enqueue(async () => {
      if (ports.length) {
        const lines = ports.flatMap((p) => Object.values(portRules(this.names, p)).map((r) => `-A ${r}`));
        await this.#restore(`*nat\n${lines.join("\n")}\nCOMMIT\n`);
      }
      applied();
    });
  }

  /** Delete the rules of ports no longer published (rewrites the nat table if they are not all there). */
  removePorts(ports: readonly FirewallPort[]): Promise<void> {
    if (ports.length === 0) return Promise.resolve();
    return this.#enqueue(async () => {
      const lines = ports.flatMap((p) => Object.values(portRules(this.names, p)).map((r) => `-D ${r}`));
      try {
        await this.#restore(`*nat\n${lines.join("\n")}\nCOMMIT\n`);
      } catch {
        await this.#restore(`*nat\n${this.#render("nat")}COMMIT\n`);
      }
    });
  }

  /** Chain declarations (which flush them under --noflush) and rules of one table. */
  #render(table: Table): string {
    let out = "";
    for (const chain of ownedChains(this.names, table)) out += `:${chain} - [0:0]\n`;
    for (const line of renderTable(this.names, table, this.#state())) out += `${line}\n`;
    return out;
  }

  /** Remove the hooks and the owned chains. Safe to call when they are gone. */
  teardown(): Promise<void> {
    return this.#enqueue(() => this.#teardown());
  }

  async #teardown(): Promise<void> {
    const saved = await mustRun("iptables-save", []);
    const present = presentHooks(this.names, saved);
    let input = "";
    for (const table of ["nat", "filter"] as const) {
      const chains = [...chainsPresent(saved, ownedChains(this.names, table))];
      const hooks = hooksOf(this.names).filter((h) => h.table === table && present.has(hookKey(h)));
      if (chains.length === 0 && hooks.length === 0) continue;
      input += `*${table}\n`;
      // Every copy: a hook added twice (two daemons racing on one prefix) must not keep a chain alive.
      for (const h of hooks) for (let i = 0; i < present.get(hookKey(h))!; i++) input += `-D ${h.chain} ${h.spec}\n`;
      // Flush first (declaring flushes), then delete: a chain referenced by another owned chain cannot go first.
      for (const chain of chains) input += `:${chain} - [0:0]\n`;
      for (const chain of chains) input += `-X ${chain}\n`;
      input += "COMMIT\n";
    }
    if (input !== "") await this.#restore(input);
  }

  async #restore(input: string): Promise<void> {
    // -w: wait for the xtables lock instead of failing when another tool (Docker, firewalld) holds it.
    const r = await runCommand("iptables-restore", ["-w", "--noflush"], input);
    if (r.code !== 0) {
      throw new InternalError(`iptables-restore failed: ${r.stderr.trim()}\ninput:\n${input}`);
    }
  }
}
