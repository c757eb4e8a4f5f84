import assert from "node:assert/strict";
import { test } from "node:test";
import { nextLink, paginate, parsePageQuery } from "./pagination.js";
import { registryCodeOf } from "./registry-errors.js";

const tags = ["a", "b", "c", "d", "e"];

test("n and last page through a sorted list", () => {
  assert.deepEqual(paginate(tags, {}), { items: tags });
  assert.deepEqual(paginate(tags, { n: 2 }), { items: ["a", "b"], next: "b" });
  assert.deepEqual(paginate(tags, { n: 2, last: "b" }), { items: ["c", "d"], next: "d" });
  assert.deepEqual(paginate(tags, { n: 2, last: "d" }), { items: ["e"] });
  assert.deepEqual(paginate(tags, { n: 5 }), { items: tags });
  assert.deepEqual(paginate(tags, { last: "e" }), { items: [] });
  // `last` need not exist: the page starts after where it would sort.
  assert.deepEqual(paginate(tags, { n: 1, last: "bb" }), { items: ["c"], next: "c" });
  assert.deepEqual(paginate(tags, { n: 0 }), { items: [] });
});

test("a page never exceeds the cap, and says there is more", () => {
  assert.deepEqual(paginate(tags, { n: 100 }, 3), { items: ["a", "b", "c"], next: "c" });
  assert.deepEqual(paginate(tags, {}, 3), { items: ["a", "b", "c"], next: "c" });
});

test("parsePageQuery: n must be a non-negative integer", () => {
  assert.deepEqual(parsePageQuery(new URLSearchParams("n=3&last=x")), { n: 3, last: "x" });
  assert.deepEqual(parsePageQuery(new URLSearchParams("")), {});
  assert.deepEqual(parsePageQuery(new URLSearchParams("last=x")), { last: "x" });
  for (const bad of ["n=-1", "n=abc", "n=1.5", "n=99999999999999999999"]) {
    assert.throws(() => parsePageQuery(new URLSearchParams(bad)), (e) => registryCodeOf(e) === "PAGINATION_NUMBER_INVALID", bad);
  }
});

test("Link header: RFC 8288, with n kept", () => {
  assert.equal(nextLink("/v2/x/tags/list", "b", 2), '</v2/x/tags/list?n=2&last=b>; rel="next"');
  assert.equal(nextLink("/v2/_catalog", "a/b", undefined), '</v2/_catalog?last=a%2Fb>; rel="next"');
});
