import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeJsonAtomic } from "../lib/atomic-file.js";
import { errnoCode } from "../lib/errors.js";
import type { ContainerRecord } from "./types.js";

/**
 * Container records on disk, one directory per container holding
 * `container.json` (replaced atomically on every change) and the log file.
 * A directory without a readable record is a creation cut short by a crash:
 * `loadAll` reports it so the caller can remove it.
 */
export class ContainerStore {
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  dir(id: string): string {
    return join(this.#root, id);
  }

  async init(): Promise<void> {
    await mkdir(this.#root, { recursive: true });
  }

  async save(record: ContainerRecord): Promise<void> {
    await writeJsonAtomic(join(this.dir(record.id), "container.json"), record);
  }

  async loadAll(): Promise<{ records: ContainerRecord[]; broken: string[] }> {
    const records: ContainerRecord[] = [];
    const broken: string[] = [];
    for (const id of await readdir(this.#root)) {
      try {
        records.push(JSON.parse(await readFile(join(this.dir(id), "container.json"), "utf8")) as ContainerRecord);
      } catch (err) {
        if (errnoCode(err) === "ENOENT" || err instanceof SyntaxError) broken.push(id);
        else throw err;
      }
    }
    return { records, broken };
  }

  /** Idempotent. */
  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }
}
