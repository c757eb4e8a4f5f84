import { readFile } from "node:fs/promises";
import type { ResolvedUser } from "./runtime.js";
import { resolveInRoot } from "../lib/scoped-path.js";
import { InvalidArgumentError, errnoCode } from "../lib/errors.js";

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const MAX_ID = 2 ** 31 - 1;

/**
 * Resolve Docker's `--user` (`""`, `name`, `uid`, `name:group`, `uid:gid`)
 * against the image's /etc/passwd and /etc/group, with the semantics of
 * runc's `user.GetExecUser` that Docker uses: a numeric user need not exist
 * (then gid 0, home `/`), a name must; supplementary groups are those that
 * list the user, unless a group was given explicitly.
 * Throws `InvalidArgumentError` for an unknown name
 * (`unable to find user X: no matching entries in passwd file`).
 */
export async function resolveUser(rootfs: string, userSpec: string): Promise<ResolvedUser> {
  const spec = userSpec.trim();
  const colon = spec.indexOf(":");
  const userArg = colon === -1 ? spec : spec.slice(0, colon);
  const groupArg = colon === -1 ? "" : spec.slice(colon + 1);

  const passwd = await readEntries(rootfs, "/etc/passwd", parsePasswdLine);
  const result: ResolvedUser & { name: string } = { uid: 0, gid: 0, additionalGids: [], home: "/", name: "" };

  if (userArg === "") {
    const root = passwd.find((u) => u.uid === 0);
    if (root) Object.assign(result, { name: root.name, gid: root.gid, home: root.home });
  } else {
    const numeric = parseId(userArg);
    const entry = passwd.find((u) => u.name === userArg || (numeric !== null && u.uid === numeric));
    if (entry) {
      Object.assign(result, { uid: entry.uid, gid: entry.gid, home: entry.home, name: entry.name });
    } else if (numeric !== null) {
      result.uid = numeric;
    } else {
      throw new InvalidArgumentError(`unable to find user ${userArg}: no matching entries in passwd file`);
    }
  }

  if (groupArg !== "" || result.name !== "") {
    const groups = await readEntries(rootfs, "/etc/group", parseGroupLine);
    if (groupArg === "") {
      result.additionalGids = groups.filter((g) => g.members.includes(result.name)).map((g) => g.gid);
    } else {
      const group = groups.find((g) => g.name === groupArg || String(g.gid) === groupArg);
      if (group) result.gid = group.gid;
      else {
        const gid = parseId(groupArg);
        if (gid === null) throw new InvalidArgumentError(`unable to find group ${groupArg}: no matching entries in group file`);
        result.gid = gid;
      }
    }
  }
  const { name: _name, ...user } = result;
  return user;
}

/**
 * `--group-add`: each entry a group name of the image's /etc/group or a
 * number (which need not exist there), as Docker resolves them.
 * `InvalidArgumentError` for an unknown name.
 */
export async function resolveGroups(rootfs: string, groups: readonly string[]): Promise<number[]> {
  if (groups.length === 0) return [];
  const known = await readEntries(rootfs, "/etc/group", parseGroupLine);
  return groups.map((g) => {
    const entry = known.find((e) => e.name === g);
    if (entry) return entry.gid;
    const gid = parseId(g);
    if (gid === null) throw new InvalidArgumentError(`Unable to find group ${g}: no matching entries in group file`);
    return gid;
  });
}

function parseId(s: string): number | null {
  if (!/^\d+$/.test(s)) return null;
  const n = Number(s);
  if (n > MAX_ID) throw new InvalidArgumentError(`uids and gids must be in range 0-${MAX_ID}: ${s}`);
  return n;
}

async function readEntries<T>(rootfs: string, path: string, parse: (line: string) => T | null): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(await resolveInRoot(rootfs, path), "utf8");
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") return [];
    throw err;
  }
  const out: T[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const entry = parse(line);
    if (entry) out.push(entry);
  }
  return out;
}

/** `name:password:UID:GID:GECOS:directory:shell` */
function parsePasswdLine(line: string): PasswdEntry | null {
  const f = line.split(":");
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  if (!f[0] || !Number.isInteger(uid) || !Number.isInteger(gid)) return null;
  return { name: f[0], uid, gid, home: f[5] || "/" };
}

/** `group_name:password:GID:user_list` */
function parseGroupLine(line: string): GroupEntry | null {
  const f = line.split(":");
  const gid = Number(f[2]);
  if (!f[0] || f[2] === "" || !Number.isInteger(gid)) return null;
  return { name: f[0], gid, members: (f[3] ?? "").split(",").map((s) => s.trim()).filter(Boolean) };
}
