import type { Stats } from "node:fs";

/**
 * The `X-Docker-Container-Path-Stat` header of the archive endpoints
 * (base64 JSON), shared by the daemon that writes it and the CLI that reads
 * it. `mode` carries Go's os.FileMode bits, which the docker CLI decodes.
 * https://docs.docker.com/engine/api/v1.45/#tag/Container/operation/ContainerArchiveInfo
 */
export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

const goModeDir = 2 ** 31;
const goModeSymlink = 2 ** 27;

/** Unix mode bits → Go os.FileMode (type bits live in the high bits there). */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.mode & 0o4000) m += 2 ** 23; // setuid
  if (st.mode & 0o2000) m += 2 ** 22; // setgid
  if (st.mode & 0o1000) m += 2 ** 20; // sticky
  if (st.isDirectory()) m += goModeDir;
  else if (st.isSymbolicLink()) m += goModeSymlink;
  else if (st.isFIFO()) m += 2 ** 25;
  else if (st.isSocket()) m += 2 ** 24;
  else if (st.isCharacterDevice()) m += 2 ** 26 + 2 ** 21;
  else if (st.isBlockDevice()) m += 2 ** 26;
  return m;
}

export function isDirMode(mode: number): boolean {
  return Math.floor(mode / goModeDir) % 2 === 1;
}

export function isSymlinkMode(mode: number): boolean {
  return Math.floor(mode / goModeSymlink) % 2 === 1;
}

export function encodePathStat(stat: PathStat): string {
  return Buffer.from(JSON.stringify(stat)).toString("base64");
}
