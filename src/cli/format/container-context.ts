/**
 * The fields `ps --format` templates see (docker's ContainerContext), built
 * from one entry of `GET /containers/json`.
 */
import { ellipsis, humanSizeWithPrecision, timeAgo, truncateId } from "../../lib/humanize.js";

export interface ApiPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ApiContainer {
  Id: string;
  Names?: string[] | null;
  Image: string;
  ImageID?: string;
  Command: string;
  Created: number;
  Ports?: ApiPort[] | null;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  SizeRw?: number;
  SizeRootFs?: number;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }> | null;
}

export const containerHeaders: Record<string, string> = {
  ID: "CONTAINER ID",
  Image: "IMAGE",
  Command: "COMMAND",
  CreatedAt: "CREATED AT",
  RunningFor: "CREATED",
  Ports: "PORTS",
  State: "STATE",
  Status: "STATUS",
  Size: "SIZE",
  Names: "NAMES",
  Labels: "LABELS",
  Label: "LABEL",
  Mounts: "MOUNTS",
  Networks: "NETWORKS",
  LocalVolumes: "LOCAL VOLUMES",
};

function joinHostPort(ip: string, port: number | string): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** docker's DisplayablePorts: "0.0.0.0:8080->80/tcp, 443/tcp", consecutive ports grouped into ranges. */
export function displayablePorts(input: readonly ApiPort[]): string {
  const ports = [...input].sort(
    (a, b) =>
      a.PrivatePort - b.PrivatePort ||
      (a.IP ?? "").localeCompare(b.IP ?? "") ||
      (a.PublicPort ?? 0) - (b.PublicPort ?? 0) ||
      a.Type.localeCompare(b.Type),
  );
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const form = (key: string, first: number, last: number) => {
    const slash = key.lastIndexOf("/");
    const ip = slash >= 0 ? key.slice(0, slash) : "";
    const type = slash >= 0 ? key.slice(slash + 1) : key;
    let g = String(first);
    if (first !== last) g += `-${last}`;
    if (ip) g = `${joinHostPort(ip, g)}->${g}`;
    return `${g}/${type}`;
  };
  for (const p of ports) {
    const current = p.PrivatePort;
    let key = p.Type;
    if (p.IP) {
      if (p.PublicPort !== current) {
        hostMappings.push(`${joinHostPort(p.IP, p.PublicPort ?? 0)}->${p.PrivatePort}/${p.Type}`);
        continue;
      }
      key = `${p.IP}/${p.Type}`;
    }
    const g = groups.get(key);
    if (!g) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === g.last + 1) {
      g.last = current;
      continue;
    }
    result.push(form(key, g.first, g.last));
    groups.set(key, { first: current, last: current });
  }
  for (const [key, g] of groups) result.push(form(key, g.first, g.last));
  return [...result, ...hostMappings].join(", ");
}

/** Go's time.Time.String() in UTC: "2024-01-02 15:04:05 +0000 UTC". */
export function goTimeString(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u([0-9a-f]{4})/g, (_m, h: string) => `\\x${h.slice(2)}`);
}

export class ContainerContext {
  readonly #c: ApiContainer;
  readonly #trunc: boolean;
  readonly #now: number;

  constructor(c: ApiContainer, trunc: boolean, now: number = Date.now()) {
    this.#c = c;
    this.#trunc = trunc;
    this.#now = now;
  }

  ID(): string {
    return this.#trunc ? truncateId(this.#c.Id) : this.#c.Id;
  }
  Image(): string {
    const img = this.#c.Image ?? "";
    if (!this.#trunc) return img;
    if (img.startsWith("sha256:") || (this.#c.ImageID && truncateId(this.#c.ImageID) === truncateId(img))) {
      return truncateId(img);
    }
    const at = img.indexOf("@");
    return at >= 0 ? img.slice(0, at) : img;
  }
  Command(): string {
    const cmd = this.#c.Command ?? "";
    return goQuote(this.#trunc ? ellipsis(cmd, 20) : cmd);
  }
  CreatedAt(): string {
    return goTimeString(this.#c.Created * 1000);
  }
  RunningFor(): string {
    return timeAgo(this.#c.Created * 1000, this.#now);
  }
  Ports(): string {
    return displayablePorts(this.#c.Ports ?? []);
  }
  State(): string {
    return this.#c.State ?? "";
  }
  Status(): string {
    return this.#c.Status ?? "";
  }
  Size(): string {
    const rw = humanSizeWithPrecision(this.#c.SizeRw ?? 0, 3);
    const rootfs = this.#c.SizeRootFs ?? 0;
    return rootfs > 0 ? `${rw} (virtual ${humanSizeWithPrecision(rootfs, 3)})` : rw;
  }
  Names(): string {
    let names = (this.#c.Names ?? []).map((n) => n.replace(/^\//, ""));
    if (this.#trunc) {
      // Link aliases look like "other/alias"; the container's own name has no slash.
      const own = names.find((n) => !n.includes("/"));
      if (own !== undefined) names = [own];
    }
    return names.join(",");
  }
  Labels(): string {
    return Object.entries(this.#c.Labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(",");
  }
  Label(name: unknown): string {
    return (this.#c.Labels ?? {})[String(name)] ?? "";
  }
  Mounts(): string {
    return (this.#c.Mounts ?? [])
      .map((m) => {
        const name = m.Name || m.Source || "";
        return this.#trunc ? ellipsis(name, 15) : name;
      })
      .join(",");
  }
  Networks(): string {
    return Object.keys(this.#c.NetworkSettings?.Networks ?? {})
      .sort()
      .join(",");
  }
  LocalVolumes(): string {
    return String((this.#c.Mounts ?? []).filter((m) => m.Driver === "local").length);
  }

  toJSON(): Record<string, unknown> {
    return {
      Command: this.Command(),
      CreatedAt: this.CreatedAt(),
      ID: this.ID(),
      Image: this.Image(),
      Labels: this.Labels(),
      LocalVolumes: this.LocalVolumes(),
      Mounts: this.Mounts(),
      Names: this.Names(),
      Networks: this.Networks(),
      Ports: this.Ports(),
      RunningFor: this.RunningFor(),
      Size: this.Size(),
      State: this.State(),
      Status: this.Status(),
    };
  }
}
