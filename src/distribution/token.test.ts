import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bearerAuth, covers, parseScopes } from "./access.js";
import { registryCodeOf, toErrorResponse } from "./registry-errors.js";
import { TokenKeys } from "./token.js";

const expect = { issuer: "iss", audience: "svc" };
const access = [{ type: "repository", name: "a/b", actions: ["pull", "push"] }];

test("ES256 tokens round-trip and carry their access", () => {
  const keys = TokenKeys.generate();
  const token = keys.sign({ iss: "iss", sub: "alice", aud: "svc", exp: Math.floor(Date.now() / 1000) + 60, access });
  const [header] = token.split(".");
  assert.deepEqual(JSON.parse(Buffer.from(header!, "base64url").toString()), { typ: "JWT", alg: "ES256", kid: keys.kid });
  const claims = keys.verify(token, expect);
  assert.equal(claims.sub, "alice");
  assert.deepEqual(claims.access, access);
});

test("verify refuses other keys, tampering, alg none, wrong iss/aud, expiry", () => {
  const keys = TokenKeys.generate();
  const exp = Math.floor(Date.now() / 1000) + 60;
  const good = keys.sign({ iss: "iss", sub: "", aud: "svc", exp, access });
  const invalid = (token: string, e = expect, now?: number) =>
    assert.throws(() => keys.verify(token, e, now), (err) => registryCodeOf(err) === "UNAUTHORIZED");
  invalid(TokenKeys.generate().sign({ iss: "iss", sub: "", aud: "svc", exp, access }));
  const [h, p, s] = good.split(".") as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, "base64url").toString()), access: [{ type: "repository", name: "x", actions: ["*"] }] })).toString("base64url");
  invalid(`${h}.${forged}.${s}`);
  invalid(`${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${p}.`);
  invalid("not-a-token");
  invalid(good, { issuer: "other", audience: "svc" });
  invalid(good, { issuer: "iss", audience: "other" });
  invalid(good, expect, (exp + 3600) * 1000);
});

test("keys: generated once under the root (0600), or loaded; public keys verify only", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wharf-token-"));
  try {
    const a = await TokenKeys.load(undefined, dir);
    const b = await TokenKeys.load(undefined, dir);
    assert.equal(a.kid, b.kid);
    assert.equal((await stat(join(dir, "auth", "token-key.pem"))).mode & 0o777, 0o600);
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const signer = TokenKeys.fromPem(privateKey.export({ format: "pem", type: "pkcs8" }) as string);
    const verifier = TokenKeys.fromPem(publicKey.export({ format: "pem", type: "spki" }) as string);
    assert.equal(verifier.canSign, false);
    const t = signer.sign({ iss: "iss", sub: "", aud: "svc", exp: Math.floor(Date.now() / 1000) + 60, access });
    assert.deepEqual(verifier.verify(t, expect).access, access);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "pem", type: "spki" }) as string;
    assert.throws(() => TokenKeys.fromPem(rsa), /P-256/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("scopes: parse, cover, and the challenge Docker Hub sends", async () => {
  assert.deepEqual(parseScopes(["repository:a/b:pull,push registry:catalog:*", "bogus", "repository:x:"]), [
    { type: "repository", name: "a/b", actions: ["pull", "push"] },
    { type: "registry", name: "catalog", actions: ["*"] },
  ]);
  assert.ok(covers([{ type: "repository", name: "a", actions: ["*"] }], [{ type: "repository", name: "a", actions: ["pull", "push"] }]));
  assert.ok(!covers([{ type: "repository", name: "a", actions: ["pull"] }], [{ type: "repository", name: "a", actions: ["pull", "push"] }]));
  assert.ok(covers([], []));

  const keys = TokenKeys.generate();
  const auth = bearerAuth(keys, { realm: "http://127.0.0.1:5000/token", issuer: "iss", service: "svc" });
  const challenge = async (headers: Record<string, string>) => {
    const err = await auth.authorize(headers, access).then(() => assert.fail("authorized"), (e: unknown) => e);
    const r = toErrorResponse(err);
    assert.equal(r.status, 401);
    assert.equal(r.body.errors[0]!.code, "UNAUTHORIZED");
    return r.headers["WWW-Authenticate"];
  };
  assert.equal(await challenge({}), 'Bearer realm="http://127.0.0.1:5000/token",service="svc",scope="repository:a/b:pull,push"');
  assert.match((await challenge({ authorization: "Bearer junk" }))!, /,error="invalid_token"$/);
  const pullOnly = keys.sign({ iss: "iss", sub: "", aud: "svc", exp: Math.floor(Date.now() / 1000) + 60, access: [{ type: "repository", name: "a/b", actions: ["pull"] }] });
  assert.match((await challenge({ authorization: `Bearer ${pullOnly}` }))!, /,error="insufficient_scope"$/);
  const grant = await auth.authorize({ authorization: `Bearer ${pullOnly}` }, [{ type: "repository", name: "a/b", actions: ["pull"] }]);
  assert.ok(grant.can("repository", "a/b", "pull"));
  assert.ok(!grant.can("repository", "other", "pull"));
});
