import { it } from "node:test";
import assert from "node:assert/strict";
import { parseMessage } from "./pipe-messages.js";
import { runcErrorMessage } from "./runc.js";
import { processStartErrorFrom } from "./process-start-error.js";
import { parsePsOutput } from "./top.js";

it("parses conmon's pipe messages, also loosely escaped ones", () => {
  assert.deepEqual(parseMessage('{"data": 4806}'), { data: 4806 });
  assert.deepEqual(parseMessage('{"data": -1, "message": "boom \\"x\\"\\n"}'), { data: -1, message: 'boom "x"\n' });
  assert.deepEqual(parseMessage('{"data": -1, "message": "bad \\q escape"}'), { data: -1, message: "bad q escape" });
});

it("extracts runc's error from logrus text and JSON", () => {
  const text =
    'time="2024-01-01T00:00:00Z" level=error msg="runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"\n';
  assert.equal(runcErrorMessage(text), 'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH');
  assert.equal(runcErrorMessage('{"level":"error","msg":"container does not exist","time":"x"}\n'), "container does not exist");
  assert.equal(runcErrorMessage("plain failure\n"), "plain failure");
});

it("classifies start errors like dockerd", () => {
  assert.equal(processStartErrorFrom('exec: "x": executable file not found in $PATH')?.exitCode, 127);
  assert.equal(processStartErrorFrom('exec: "/x": stat /x: no such file or directory')?.exitCode, 127);
  assert.equal(processStartErrorFrom('exec: "/bin/f": permission denied')?.exitCode, 126);
  assert.equal(processStartErrorFrom("cgroup: something else"), null);
});

it("parses ps output like docker top", () => {
  const out = [
    "UID PID PPID C STIME TTY TIME CMD",
    "root 10 1 0 10:00 ? 00:00:00 sleep 100",
    "root 11 10 0 10:00 ? 00:00:00 sh -c echo hi",
    "root 12 1 0 10:00 ? 00:00:00 other",
    "",
  ].join("\n");
  const r = parsePsOutput(out, [10, 11]);
  assert.equal(r.Titles.length, 8);
  assert.deepEqual(r.Processes, [
    ["root", "10", "1", "0", "10:00", "?", "00:00:00", "sleep 100"],
    ["root", "11", "10", "0", "10:00", "?", "00:00:00", "sh -c echo hi"],
  ]);
});
