import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { cliCases } from "./cli-cases.js";
import { TestDaemon, type Result } from "./support/daemon.js";

/** The same cases through our CLI and through the real docker CLI, against one real daemon. */
let daemon: TestDaemon;
before(async () => {
  daemon = await TestDaemon.start();
});
after(async () => {
  await daemon?.stop();
});

for (const client of ["wharf", "docker"] as const) {
  describe(`${client} CLI against wharf daemon`, () => {
    for (const c of cliCases) {
      test(c.name, async () => {
        const prefix = `wharftest-${randomBytes(3).toString("hex")}`;
        const sub = (args: string[]) => args.map((a) => a.replaceAll("$P", prefix));
        const exec = (args: string[], input?: string): Promise<Result> =>
          client === "wharf" ? daemon.wharf(sub(args), { input }) : daemon.docker(sub(args), { input });
        try {
          for (const s of c.setup ?? []) {
            const r = await exec(s);
            assert.equal(r.code, 0, `setup ${s.join(" ")}: ${r.stderr}`);
          }
          const r = await exec(c.args, c.input);
          assert.equal(r.code, c.code, `exit code of ${c.args.join(" ")}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
          if (typeof c.stdout === "string") assert.equal(r.stdout, c.stdout);
          else if (c.stdout) assert.match(r.stdout, c.stdout);
          if (c.stderr) assert.match(r.stderr, c.stderr);
          if (c.code !== 0 && client === "wharf") {
            // docker's shape: at most "Unable to find…", the error, and "See 'wharf run --help'."
            assert.equal(r.stderr.trim().split("\n").length <= 3, true, `error is short: ${r.stderr}`);
            assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
          }
        } finally {
          for (const s of c.cleanup ?? []) await exec(s);
        }
      });
    }
  });
}
