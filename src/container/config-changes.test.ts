import { test } from "node:test";
import assert from "node:assert/strict";
import { applyChanges } from "./config-changes.js";
import { InvalidArgumentError } from "../lib/errors.js";

test("--change instructions alter the config", () => {
  const c = applyChanges({ Env: ["PATH=/bin"] }, ['CMD ["nginx", "-g", "daemon off;"]', "ENV A=1 B=\"two words\"", "EXPOSE 80 53/udp", "WORKDIR /srv", "ENTRYPOINT echo hi"]);
  assert.deepEqual(c.Cmd, ["nginx", "-g", "daemon off;"]);
  assert.deepEqual(c.Env, ["PATH=/bin", "A=1", "B=two words"]);
  assert.deepEqual(c.ExposedPorts, { "80/tcp": {}, "53/udp": {} });
  assert.equal(c.WorkingDir, "/srv");
  assert.deepEqual(c.Entrypoint, ["/bin/sh", "-c", "echo hi"]);
});

test("--change rejects instructions that touch the filesystem", () => {
  assert.throws(() => applyChanges({}, ["RUN rm -rf /"]), InvalidArgumentError);
  assert.throws(() => applyChanges({}, ["CMD [broken"]), InvalidArgumentError);
});
