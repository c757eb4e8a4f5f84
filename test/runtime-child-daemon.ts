/**
 * A stand-in daemon for the recovery suite: creates and starts containers
 * with its own ConmonRuntime, prints their IDs as one JSON line, then idles
 * until it is killed (with SIGKILL, by the test).
 * argv: <execRoot> <rootfs> <cgroupParent> <logDir>
 */
import { join } from "node:path";
import { ConmonRuntime } from "../src/runtime/conmon-runtime.js";
import { buildOciSpec } from "../src/runtime/oci-spec.js";
import { newId } from "./runtime-helpers.js";

const [execRoot, rootfs, cgroupParent, logDir] = process.argv.slice(2) as [string, string, string, string];
const runtime = new ConmonRuntime({ execRoot });

async function run(args: string[], openStdin: boolean): Promise<string> {
  const id = newId();
  const spec = buildOciSpec({
    rootfs,
    args,
    env: ["PATH=/bin"],
    user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: "recovered",
    terminal: false,
    network: { kind: "new" },
    cgroupsPath: `/${cgroupParent}/${id}`,
  });
  await runtime.create(id, spec, { tty: false, openStdin, logPath: join(logDir, `${id}.log`) });
  await runtime.start(id);
  return id;
}

const loop = await run(["sh", "-c", "echo started; while true; do sleep 1; done"], false);
const reader = await run(["sh", "-c", "read x; echo got $x; exit 3"], true);
const created = newId();
await runtime.create(
  created,
  buildOciSpec({
    rootfs,
    args: ["true"],
    env: ["PATH=/bin"],
    user: { uid: 0, gid: 0, additionalGids: [] },
    hostname: "c",
    terminal: false,
    network: { kind: "new" },
    cgroupsPath: `/${cgroupParent}/${created}`,
  }),
  { tty: false, openStdin: false, logPath: null },
);
process.stdout.write(JSON.stringify({ loop, reader, created }) + "\n");
setInterval(() => undefined, 1 << 30);
