// session.js: the first view a session body decides (issue 21), with whatever the body lacks.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accountParts, canEdit, chooseView, dashboardPart, readSession } from "../src/session.js";

const body = (fields) => ({ user: null, via: null, csrf_token: null, anonymous: "read", claim: false, ...fields });
const ada = { name: "ada", role: "admin" };
const bob = { name: "bob", role: "viewer" };

describe("readSession", () => {
  it("keeps the user, the CSRF token and the device's settings", () => {
    assert.deepEqual(readSession(body({ user: ada, via: "session", csrf_token: "c5rf" })), {
      known: true, user: ada, csrfToken: "c5rf", anonymous: "read", claim: false,
    });
    assert.equal(readSession(body({ anonymous: "none" })).anonymous, "none");
    assert.equal(readSession(body({ claim: true })).claim, true);
  });

  it("reads an app without accounts (no body) as the dashboard of before, with no sign-in", () => {
    const none = readSession(null);
    assert.equal(none.known, false);
    assert.equal(chooseView(none, "signin"), "dashboard");
    assert.equal(chooseView(none, "accounts"), "dashboard");
    assert.deepEqual(accountParts(none), []);
  });

  it("takes nothing odd on trust: an unknown role is a viewer, a nameless user nobody", () => {
    assert.deepEqual(readSession(body({ user: { name: "eve", role: "root" } })).user, { name: "eve", role: "viewer" });
    assert.equal(readSession(body({ user: { role: "admin" } })).user, null);
    assert.equal(readSession(body({ user: "ada" })).user, null);
    assert.equal(readSession(body({ claim: "yes" })).claim, false);
    assert.equal(readSession(body({ anonymous: "nobody" })).anonymous, "read");
    assert.equal(readSession(body({ csrf_token: 42 })).csrfToken, null);
  });
});

describe("chooseView", () => {
  const view = (fields, route) => chooseView(readSession(body(fields)), route);

  it("shows anonymous readers the readings, and the sign-in page when they ask for it", () => {
    assert.equal(view({}, ""), "dashboard");
    assert.equal(view({}, "signin"), "signin");
    assert.equal(view({}, "accounts"), "dashboard", "no accounts page without a session");
    assert.equal(view({}, "claim"), "dashboard", "a claimed device has no claim page");
  });

  it("shows the sign-in page first when anonymous may not read", () => {
    for (const route of ["", "accounts", "claim", "nonsense"]) assert.equal(view({ anonymous: "none" }, route), "signin");
  });

  it("offers the claim page on an unclaimed device: first when anonymous may not read", () => {
    assert.equal(view({ claim: true }, ""), "dashboard", "readers still read, with a link to claim");
    assert.equal(view({ claim: true }, "claim"), "claim");
    assert.equal(view({ claim: true, anonymous: "none" }, ""), "claim");
    assert.equal(view({ claim: true, anonymous: "none" }, "signin"), "signin", "a viewer made on the device signs in");
  });

  it("gives admins the accounts and settings pages, and viewers only the readings", () => {
    assert.equal(view({ user: ada }, "accounts"), "accounts");
    assert.equal(view({ user: ada }, "settings"), "settings");
    assert.equal(view({ user: ada }, ""), "dashboard");
    assert.equal(view({ user: bob, anonymous: "none" }, "accounts"), "dashboard");
    assert.equal(view({ user: bob }, "settings"), "dashboard");
    assert.equal(view({}, "settings"), "dashboard", "no settings page without a session");
    assert.equal(view({ anonymous: "none" }, "settings"), "signin");
    for (const route of ["signin", "claim"]) assert.equal(view({ user: ada, claim: true }, route), "dashboard");
  });
});

describe("dashboardPart and canEdit", () => {
  it("shows the places overview unless All sensors is asked for", () => {
    assert.equal(dashboardPart(""), "overview");
    assert.equal(dashboardPart("all"), "all");
    assert.equal(dashboardPart("nonsense"), "overview");
    assert.equal(chooseView(readSession(body({})), "all"), "dashboard");
  });

  it("lets admins edit, and nobody else", () => {
    assert.equal(canEdit(readSession(body({ user: ada }))), true);
    assert.equal(canEdit(readSession(body({ user: bob }))), false);
    assert.equal(canEdit(readSession(body({}))), false);
    assert.equal(canEdit(readSession(null)), false);
  });
});

describe("accountParts", () => {
  const parts = (fields) => accountParts(readSession(body(fields)));

  it("shows the user and a sign-out, the accounts link to admins only, a sign-in link to readers", () => {
    assert.deepEqual(parts({ user: ada }), ["user", "admin"]);
    assert.deepEqual(parts({ user: bob }), ["user"]);
    assert.deepEqual(parts({}), ["reader"]);
    assert.deepEqual(parts({ claim: true }), ["reader", "claim"]);
  });
});
