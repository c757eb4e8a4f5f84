import { test } from "node:test";
import assert from "node:assert/strict";
import { Router } from "./router.js";

test("routes match Docker's path shapes, image names with slashes included", () => {
  const r = new Router();
  const h = async () => undefined;
  r.add("GET", "/images/json", h).add("GET", "/images/{name:.*}/json", h).add("POST", "/containers/{id}/start", h);
  assert.deepEqual((r.match("GET", "/images/localhost:5000/a/b:1/json") as { params: object }).params, { name: "localhost:5000/a/b:1" });
  assert.deepEqual((r.match("GET", "/images/json") as { params: object }).params, {});
  assert.deepEqual((r.match("POST", "/containers/abc/start") as { params: object }).params, { id: "abc" });
  assert.equal(r.match("GET", "/containers/abc/start"), "method-not-allowed");
  assert.equal(r.match("GET", "/nope"), undefined);
  assert.equal(r.match("POST", "/containers/a/b/start"), undefined);
});
