// api.js: what every request sends and how its failures read, over a fake fetch. Writes carry
// the session's CSRF token; a 401 means the session ended, except on the sign-in itself.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { ApiError, fetchSession, request, useSession } from "../src/api.js";

let sent;
let answers;

function answer(status, body, headers = {}) {
  return new Response(body == null ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

beforeEach(() => {
  sent = [];
  answers = [];
  globalThis.fetch = async (path, options) => {
    sent.push({ path, ...options });
    return answers.shift() || answer(200, {});
  };
});

afterEach(() => {
  delete globalThis.fetch;
  useSession();
});

describe("request", () => {
  it("sends JSON and the CSRF token with every write, and no token with a read", async () => {
    let ended = 0;
    useSession({ csrf: "t0ken", onUnauthorized: () => ended++ });
    answers.push(answer(201, { name: "bob" }), answer(204, null), answer(200, { users: [] }));
    assert.deepEqual(await request("/api/v1/users", { method: "POST", body: { name: "bob" } }), { name: "bob" });
    assert.equal(await request("/api/v1/users/bob", { method: "DELETE" }), null, "204: no body");
    await request("/api/v1/users");
    const [post, del, get] = sent;
    assert.equal(post.method, "POST");
    assert.equal(post.headers["X-CSRF-Token"], "t0ken");
    assert.equal(post.headers["Content-Type"], "application/json");
    assert.equal(post.body, '{"name":"bob"}');
    assert.equal(del.headers["X-CSRF-Token"], "t0ken");
    assert.equal(get.headers["X-CSRF-Token"], undefined);
    assert.equal(get.body, undefined);
    assert.equal(ended, 0);
  });

  it("turns a 401 into the session's end, except for a sign-in's own 401", async () => {
    let ended = 0;
    useSession({ csrf: "t0ken", onUnauthorized: () => ended++ });
    const refused = { status: 401, error: "Unauthorized", message: "Wrong user name or password" };
    answers.push(answer(401, refused), answer(401, refused));
    await assert.rejects(request("/api/v1/session", { method: "POST", body: {}, signIn: true }), (err) => {
      assert.ok(err instanceof ApiError);
      assert.equal(err.status, 401);
      assert.equal(err.message, "Wrong user name or password");
      return true;
    });
    assert.equal(ended, 0);
    await assert.rejects(request("/api/v1/tokens"), { status: 401 });
    assert.equal(ended, 1);
  });

  it("keeps a 429's Retry-After and a 403's message", async () => {
    answers.push(answer(429, { message: "Too many attempts" }, { "Retry-After": "42" }),
      answer(403, { status: 403, error: "Forbidden", message: "Viewers cannot change accounts" }));
    await assert.rejects(request("/api/v1/session", { method: "POST", body: {}, signIn: true }),
      { status: 429, retryAfter: "42" });
    await assert.rejects(request("/api/v1/users", { method: "POST", body: {} }),
      { status: 403, message: "Viewers cannot change accounts" });
  });

  it("reads an app without accounts as no session, and says when the network failed", async () => {
    answers.push(answer(404, { message: "Not Found" }));
    assert.equal(await fetchSession(), null);
    globalThis.fetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    await assert.rejects(request("/api/v1/session"), { status: 0, message: "network unreachable" });
  });
});
