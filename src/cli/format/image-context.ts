/** The fields `images --format` and `history --format` templates see (docker's ImageContext/HistoryContext). */
import { ellipsis, humanSize, humanSizeWithPrecision, timeAgo, truncateId } from "../../lib/humanize.js";
import { goTimeString } from "./container-context.js";

export interface ApiImage {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  Containers?: number;
  Labels?: Record<string, string> | null;
}

export const imageHeaders: Record<string, string> = {
  Repository: "REPOSITORY",
  Tag: "TAG",
  Digest: "DIGEST",
  ID: "IMAGE ID",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  Size: "SIZE",
  Containers: "CONTAINERS",
  VirtualSize: "VIRTUAL SIZE",
  SharedSize: "SHARED SIZE",
  UniqueSize: "UNIQUE SIZE",
};

/** "registry:5000/a/b:tag" → ["registry:5000/a/b", "tag"] (the tag is after the last colon of the last path part). */
export function splitRepoTag(ref: string): [string, string] {
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return [ref.slice(0, colon), ref.slice(colon + 1)];
  return [ref, ""];
}

export class ImageContext {
  readonly #i: ApiImage;
  readonly #repo: string;
  readonly #tag: string;
  readonly #digest: string;
  readonly #trunc: boolean;
  readonly #now: number;

  constructor(i: ApiImage, repo: string, tag: string, digest: string, trunc: boolean, now = Date.now()) {
    this.#i = i;
    this.#repo = repo;
    this.#tag = tag;
    this.#digest = digest;
    this.#trunc = trunc;
    this.#now = now;
  }

  ID(): string {
    return this.#trunc ? truncateId(this.#i.Id) : this.#i.Id;
  }
  Repository(): string {
    return this.#repo;
  }
  Tag(): string {
    return this.#tag;
  }
  Digest(): string {
    return this.#digest;
  }
  CreatedSince(): string {
    return timeAgo(this.#i.Created * 1000, this.#now);
  }
  CreatedAt(): string {
    return goTimeString(this.#i.Created * 1000);
  }
  Size(): string {
    return humanSizeWithPrecision(this.#i.Size, 3);
  }
  VirtualSize(): string {
    return humanSize(this.#i.Size);
  }
  SharedSize(): string {
    const s = this.#i.SharedSize ?? -1;
    return s === -1 ? "N/A" : humanSizeWithPrecision(s, 3);
  }
  UniqueSize(): string {
    const s = this.#i.SharedSize ?? -1;
    return s === -1 ? "N/A" : humanSizeWithPrecision(this.#i.Size - s, 3);
  }
  Containers(): string {
    const c = this.#i.Containers ?? -1;
    return c === -1 ? "N/A" : String(c);
  }

  toJSON(): Record<string, unknown> {
    return {
      Containers: this.Containers(),
      CreatedAt: this.CreatedAt(),
      CreatedSince: this.CreatedSince(),
      Digest: this.Digest(),
      ID: this.ID(),
      Repository: this.Repository(),
      SharedSize: this.SharedSize(),
      Size: this.Size(),
      Tag: this.Tag(),
      UniqueSize: this.UniqueSize(),
      VirtualSize: this.VirtualSize(),
    };
  }
}

/** One row per repository:tag, as `docker images` lists them; untagged images show <none>. */
export function imageRows(images: readonly ApiImage[], opts: { trunc: boolean; digests: boolean; now?: number }): ImageContext[] {
  const rows: ImageContext[] = [];
  for (const img of images) {
    const tags = img.RepoTags ?? [];
    const digests = img.RepoDigests ?? [];
    const digestOf = (repo: string) => {
      const d = digests.find((x) => x.startsWith(`${repo}@`));
      return d ? d.slice(d.indexOf("@") + 1) : "<none>";
    };
    const realTags = tags.filter((t) => t !== "<none>:<none>");
    if (realTags.length === 0) {
      const fromDigest = digests.find((d) => d !== "<none>@<none>");
      const repo = fromDigest ? fromDigest.slice(0, fromDigest.indexOf("@")) : "<none>";
      rows.push(new ImageContext(img, repo, "<none>", fromDigest ? digestOf(repo) : "<none>", opts.trunc, opts.now));
      continue;
    }
    for (const t of realTags) {
      const [repo, tag] = splitRepoTag(t);
      rows.push(new ImageContext(img, repo, tag || "<none>", digestOf(repo), opts.trunc, opts.now));
    }
  }
  return rows;
}

export interface ApiHistory {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags?: string[] | null;
  Size: number;
  Comment: string;
}

export const historyHeaders: Record<string, string> = {
  ID: "IMAGE",
  CreatedSince: "CREATED",
  CreatedAt: "CREATED AT",
  CreatedBy: "CREATED BY",
  Size: "SIZE",
  Comment: "COMMENT",
};

export class HistoryContext {
  readonly #h: ApiHistory;
  readonly #trunc: boolean;
  readonly #human: boolean;
  readonly #now: number;

  constructor(h: ApiHistory, trunc: boolean, human: boolean, now = Date.now()) {
    this.#h = h;
    this.#trunc = trunc;
    this.#human = human;
    this.#now = now;
  }
  ID(): string {
    if (this.#h.Id === "<missing>" || !this.#trunc) return this.#h.Id;
    return truncateId(this.#h.Id);
  }
  CreatedSince(): string {
    if (!this.#human) return this.CreatedAt();
    return timeAgo(this.#h.Created * 1000, this.#now);
  }
  CreatedAt(): string {
    return new Date(this.#h.Created * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
  }
  CreatedBy(): string {
    const by = this.#h.CreatedBy.replace(/\t/g, " ");
    return this.#trunc ? ellipsis(by, 45) : by;
  }
  Size(): string {
    return this.#human ? humanSizeWithPrecision(this.#h.Size, 3) : String(this.#h.Size);
  }
  Comment(): string {
    return this.#h.Comment;
  }
  toJSON(): Record<string, unknown> {
    return {
      Comment: this.Comment(),
      CreatedAt: this.CreatedAt(),
      CreatedBy: this.CreatedBy(),
      CreatedSince: this.CreatedSince(),
      ID: this.ID(),
      Size: this.Size(),
    };
  }
}
