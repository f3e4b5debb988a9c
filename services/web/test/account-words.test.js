// pages/account-words.js: what the accounts page says about users, tokens and audit events.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeEvent, describeToken, describeUser, formatWhen, sameName } from "../src/pages/account-words.js";

const now = 1_800_000_000;

describe("the accounts page's words", () => {
  it("describes a user and a token", () => {
    assert.equal(describeUser({ name: "bob", created: now - 3 * 86400, last_login: now - 7200, sessions: 1 }, now),
      "Added 3 d ago, last signed in 2 h ago, 1 session open.");
    assert.equal(describeUser({ name: "eve", created: now - 30, last_login: null, sessions: 0 }, now),
      "Added just now, never signed in, 0 sessions open.");
    assert.equal(describeToken({ name: "prometheus", created: now - 600, created_by: "ada", last_used: null }, now),
      "Created 10 min ago by ada, never used.");
    assert.equal(describeToken({ created: now - 600, created_by: null, last_used: now - 5 }, now),
      "Created 10 min ago, last used just now.");
  });

  it("says each audit action in words, the outcome when it is not ok, and the client", () => {
    assert.equal(describeEvent({ actor: "ada", action: "login", target: "ada", client: "192.0.2.7", outcome: "ok" }),
      "ada signed in, from 192.0.2.7");
    assert.equal(describeEvent({ actor: "ada", action: "sessions_ended", target: "ada" }), "ada signed out everywhere");
    assert.equal(describeEvent({ actor: "bob", action: "logout", target: "bob" }), "bob signed out");
    assert.equal(describeEvent({ actor: "ada", action: "user_added", target: "bob", outcome: "ok" }), "ada added the user bob");
    assert.equal(describeEvent({ actor: null, action: "login_failed", target: "bob", client: "192.0.2.9", outcome: "refused" }),
      "someone failed to sign in as bob (refused), from 192.0.2.9");
    // As the app records them: "-" for nobody, "cli" from "local" for the accounts command.
    assert.equal(describeEvent({ actor: "-", action: "login_failed", target: "(unknown user)", client: "192.0.2.9",
      outcome: "wrong password" }), "someone failed to sign in as (unknown user) (wrong password), from 192.0.2.9");
    assert.equal(describeEvent({ actor: "-", action: "setup_code_failed", target: "-", client: "192.0.2.9", outcome: "refused" }),
      "someone gave a wrong setup code (refused), from 192.0.2.9");
    assert.equal(describeEvent({ actor: "ada", action: "claim", target: "ada", client: "192.0.2.7", outcome: "ok" }),
      "ada claimed the device, from 192.0.2.7");
    assert.equal(describeEvent({ actor: "cli", action: "user_added", target: "ada", client: "local", outcome: "ok" }),
      "cli added the user ada, on the device");
    assert.equal(describeEvent({ actor: "ada", action: "brand_new_thing", target: null }), "ada brand new thing",
      "an action this page does not know yet still shows");
  });

  it("leaves markup in names as the text it is", () => {
    const hostile = "<img src=x onerror=alert(1)>";
    assert.equal(describeEvent({ actor: hostile, action: "logout" }), `${hostile} signed out`);
  });

  it("says never for a time that is not there, and compares names regardless of case", () => {
    assert.equal(formatWhen(null), "never");
    assert.match(formatWhen(now), /\d\d:\d\d:\d\d/);
    assert.ok(sameName("Ada", "ada"));
    assert.ok(!sameName("ada", "adam"));
  });
});
