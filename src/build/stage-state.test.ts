import { test } from "node:test";
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../lib/errors.js";
import { parseDockerfile } from "./dockerfile-parser.js";
import { applyMetadata, argEnv, argvOf, type StageState } from "./stage-state.js";

function stateOf(config: StageState["config"] = {}): StageState {
  return { imageId: "sha256:parent", config, args: new Map(), cmdSet: false, escapeChar: "\\" };
}

/** Applies the instructions of a one-stage Dockerfile body in order; returns the history lines. */
function apply(state: StageState, body: string, buildArgs: Record<string, string> = {}): string[] {
  const df = parseDockerfile(`FROM busybox\n${body}\n`);
  const given = new Map(Object.entries(buildArgs));
  return df.stages[0]!.instructions.map((ins) => applyMetadata(state, ins, given, new Map(), new Set()));
}

test("ENV: both forms; one line's values see the environment from before the line", () => {
  const s = stateOf({ Env: ["PATH=/bin", "A=old"] });
  apply(s, "ENV foo bar baz\nENV A=new B=${A} C=\"x y\"");
  assert.deepEqual(s.config.Env, ["PATH=/bin", "foo=bar baz", "A=new", "B=old", "C=x y"]);
});

test("ARG: build args win over defaults, ENV shadows ARG, RUN sees only unshadowed args", () => {
  const s = stateOf({ Env: ["SHADOW=env"] });
  apply(s, "ARG V=default\nARG W=w\nARG SHADOW=arg\nARG UNSET\nLABEL v=$V w=$W s=$SHADOW", { V: "given" });
  assert.deepEqual(s.config.Labels, { v: "given", w: "w", s: "env" });
  assert.deepEqual(argEnv(s), ["V=given", "W=w"]);
});

test("CMD and ENTRYPOINT: shell form goes through SHELL; ENTRYPOINT drops an inherited CMD only", () => {
  const inherited = stateOf({ Cmd: ["sh"] });
  apply(inherited, "ENTRYPOINT [\"/bin/app\"]");
  assert.equal(inherited.config.Cmd, null);
  const own = stateOf({ Cmd: ["sh"] });
  apply(own, "SHELL [\"/bin/ash\", \"-ec\"]\nCMD echo hi\nENTRYPOINT [\"/bin/app\"]");
  assert.deepEqual(own.config.Cmd, ["/bin/ash", "-ec", "echo hi"]);
  assert.deepEqual(own.config.Entrypoint, ["/bin/app"]);
  assert.deepEqual(argvOf(own, { kind: "shell", command: "ls" }), ["/bin/ash", "-ec", "ls"]);
});

test("EXPOSE, VOLUME, WORKDIR (relative to the last), USER, STOPSIGNAL, HEALTHCHECK, ONBUILD", () => {
  const s = stateOf({ WorkingDir: "/srv" });
  const history = apply(s, [
    "ARG P=8080",
    "EXPOSE 80 53/udp ${P} 9000-9001",
    "VOLUME /data [\"/logs\"]",
    "WORKDIR app",
    "WORKDIR sub",
    "USER nobody:nogroup",
    "STOPSIGNAL SIGINT",
    "HEALTHCHECK --interval=1m30s --timeout=3s --retries=4 CMD wget -q http://localhost/ || exit 1",
    "ONBUILD RUN echo child",
  ].join("\n"));
  assert.deepEqual(Object.keys(s.config.ExposedPorts!).sort(), ["53/udp", "80/tcp", "8080/tcp", "9000/tcp", "9001/tcp"]);
  assert.equal(s.config.WorkingDir, "/srv/app/sub");
  assert.equal(s.config.User, "nobody:nogroup");
  assert.equal(s.config.StopSignal, "SIGINT");
  assert.deepEqual(s.config.Healthcheck, { Test: ["CMD-SHELL", "wget -q http://localhost/ || exit 1"], Interval: 90e9, Timeout: 3e9, Retries: 4 });
  assert.deepEqual(s.config.OnBuild, ["RUN echo child"]);
  assert.match(history[1]!, /^\/bin\/sh -c #\(nop\)  EXPOSE /);
  assert.equal(apply(stateOf(), "HEALTHCHECK NONE").length, 1);
});

test("bad values are InvalidArgumentErrors", () => {
  assert.throws(() => apply(stateOf(), "EXPOSE 99999"), InvalidArgumentError);
  assert.throws(() => apply(stateOf(), "ARG P=abc\nEXPOSE $P"), InvalidArgumentError);
});
