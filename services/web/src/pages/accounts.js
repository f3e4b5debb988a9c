// The accounts-and-tokens page (issue 21), for admins: users (add with a role, change a role or a
// password, sign out everywhere, remove), API tokens (create with a scope, shown once; revoke) and
// the audit log, newest first. A lazy chunk (src/lazy.js): a phone that only reads never loads it.
// Everything a person typed (names, and what the audit log quotes) goes into the DOM as text, by
// textContent or text nodes, never as markup. Writes go through api.js's request(), which sends
// the session's CSRF token and turns a 401 into the sign-in page; a 403's message is shown here.

import "./admin.css";
import "./accounts.css";
import { request } from "../api.js";
import { checkName, checkNewPassword } from "../forms.js";
import { describeEvent, describeToken, describeUser, formatWhen, sameName } from "./account-words.js";
import { field, h } from "./dom.js";

const AUDIT_LIMIT = 100;
const ROLES = ["viewer", "admin"];
const SCOPES = { read: "read: GET only", write: "write: may also change the device" };

const passwordInput = (name, autocomplete = "new-password") =>
  h("input", { type: "password", name, autocomplete, required: true });

function select(name, options, value) {
  return h("select", { name }, ...Object.entries(options).map(([key, label]) =>
    h("option", { value: key, text: label, selected: key === value })));
}

/** Show the page in `section` (its heading and back link stay) for the signed-in `session`. */
export function showAccounts(section, session) {
  section.querySelector("#accounts-loading")?.remove();
  section.querySelector(".accounts-page")?.remove();
  const page = new AccountsPage(session);
  section.append(page.element);
  page.refresh();
}

class AccountsPage {
  constructor(session) {
    this.me = session.user?.name || "";
    this.users = h("ul", { className: "rows" });
    this.tokens = h("ul", { className: "rows" });
    this.audit = h("ol", { className: "audit" });
    this.usersNote = note();
    this.tokensNote = note();
    this.auditNote = note();
    this.newToken = h("div", { className: "new-token", hidden: true });
    this.element = h("div", { className: "accounts-page" },
      h("section", { className: "panel", "aria-labelledby": "users-title" },
        h("h3", { id: "users-title", text: "Users" }), this.usersNote, this.users, this.addUserForm()),
      h("section", { className: "panel", "aria-labelledby": "tokens-title" },
        h("h3", { id: "tokens-title", text: "API tokens" }),
        h("p", { className: "hint", text: "For scripts and Prometheus: sent as Authorization: Bearer <token>. " +
          "A read token can only read; a write token may also change the device, never accounts or tokens." }),
        this.tokensNote, this.newToken, this.tokens, this.addTokenForm()),
      h("section", { className: "panel", "aria-labelledby": "audit-title" },
        h("h3", { id: "audit-title", text: "Audit log" }),
        h("p", { className: "hint", text: `The last ${AUDIT_LIMIT} events, newest first.` }),
        this.auditNote, this.audit));
  }

  async refresh() {
    await Promise.all([this.loadUsers(), this.loadTokens(), this.loadAudit()]);
  }

  // ---- users ---------------------------------------------------------------------------------

  async loadUsers() {
    const answer = await this.ask(this.usersNote, "/api/v1/users");
    if (!answer) return;
    const users = Array.isArray(answer.users) ? answer.users : [];
    this.users.replaceChildren(...users.map((user) => this.userRow(user)));
  }

  userRow(user) {
    const name = String(user.name);
    const me = sameName(name, this.me);
    const path = `/api/v1/users/${encodeURIComponent(name)}`;
    const actions = h("div", { className: "actions" });
    const row = h("li", { className: "row", "data-user": name },
      h("p", { className: "row-title" }, h("strong", { className: "name", text: name }), me ? " (you)" : null),
      h("p", { className: "hint", text: describeUser(user) }),
      actions);

    const role = select("role", Object.fromEntries(ROLES.map((r) => [r, r])), user.role);
    role.setAttribute("aria-label", `Role of ${name}`);
    role.addEventListener("change", async () => {
      const done = await this.write(this.usersNote, "PATCH", path, { role: role.value }, `${name} is now ${role.value === "admin" ? "an admin" : "a viewer"}.`);
      if (!done) role.value = user.role; // refused (the last admin, a 403): as it was
      else if (me) {
        location.reload(); // no longer an admin: this page is not for them any more
        return;
      }
      this.loadUsers();
      this.loadAudit();
    });

    const showActions = () => actions.replaceChildren(
      h("label", { className: "inline" }, "Role ", role),
      h("button", { type: "button", text: "Change password", onclick: () => actions.replaceChildren(this.passwordForm(name, me, path, showActions)) }),
      h("button", {
        type: "button", text: "Sign out everywhere", onclick: async () => {
          await this.write(this.usersNote, "DELETE", `${path}/sessions`, undefined, `${name} is signed out everywhere.`);
          this.refresh();
        },
      }),
      h("button", {
        type: "button", className: "danger", text: "Remove", onclick: () => confirmInline(actions,
          `Remove ${name}? Their sessions end and they cannot sign in again.`, `Remove ${name}`, async () => {
            await this.write(this.usersNote, "DELETE", path, undefined, `${name} was removed.`);
            this.refresh();
          }, showActions),
      }));
    showActions();
    return row;
  }

  passwordForm(name, me, path, cancel) {
    const password = passwordInput("password");
    const repeat = passwordInput("repeat");
    const current = me ? passwordInput("current_password", "current-password") : null;
    const error = h("p", { className: "form-error", role: "alert" });
    return h("form", {
      className: "stack", noValidate: true, onsubmit: async (event) => {
        event.preventDefault();
        const problem = checkNewPassword(password.value, repeat.value);
        if (problem) {
          error.textContent = problem;
          return;
        }
        const body = { password: password.value };
        if (current) body.current_password = current.value;
        if (await this.write(error, "PATCH", path, body, "")) {
          cancel();
          this.say(this.usersNote, me ? "Your password is changed; your other sessions are ended."
            : `${name}'s password is changed; their sessions are ended.`);
          this.loadUsers();
          this.loadAudit();
        }
      },
    },
    ...(current ? field("Your current password", current) : []),
    ...field(`New password for ${name}`, password),
    ...field("The same password again", repeat),
    error,
    h("div", { className: "actions" },
      h("button", { type: "submit", text: "Save password" }),
      h("button", { type: "button", text: "Cancel", onclick: cancel })));
  }

  addUserForm() {
    const name = h("input", { name: "name", autocomplete: "off", autocapitalize: "none", spellcheck: false, required: true });
    const role = select("role", { viewer: "viewer: reads", admin: "admin: also changes the device and accounts" }, "viewer");
    const password = passwordInput("password");
    const repeat = passwordInput("repeat");
    const error = h("p", { className: "form-error", role: "alert" });
    const form = h("form", {
      className: "stack", noValidate: true, "aria-labelledby": "add-user-title", onsubmit: async (event) => {
        event.preventDefault();
        const problem = checkName(name.value) || checkNewPassword(password.value, repeat.value);
        if (problem) {
          error.textContent = problem;
          return;
        }
        const body = { name: name.value, password: password.value, role: role.value };
        if (await this.write(error, "POST", "/api/v1/users", body, "")) {
          this.say(this.usersNote, `${name.value} was added as ${role.value === "admin" ? "an admin" : "a viewer"}.`);
          form.reset();
          this.loadUsers();
          this.loadAudit();
        }
      },
    },
    h("h4", { id: "add-user-title", text: "Add a user" }),
    ...field("User name", name),
    ...field("Role", role),
    ...field("Password (at least 8 characters)", password),
    ...field("The same password again", repeat),
    error,
    h("button", { type: "submit", text: "Add user" }));
    return form;
  }

  // ---- tokens --------------------------------------------------------------------------------

  async loadTokens() {
    const answer = await this.ask(this.tokensNote, "/api/v1/tokens");
    if (!answer) return;
    const tokens = Array.isArray(answer.tokens) ? answer.tokens : [];
    this.tokens.replaceChildren(...tokens.map((token) => this.tokenRow(token)));
    if (!tokens.length) this.tokens.append(h("li", { className: "hint", text: "No tokens yet." }));
  }

  tokenRow(token) {
    const name = String(token.name);
    const actions = h("div", { className: "actions" });
    const showActions = () => actions.replaceChildren(h("button", {
      type: "button", className: "danger", text: "Revoke", onclick: () => confirmInline(actions,
        `Revoke ${name}? What uses it is refused from its next request.`, `Revoke ${name}`, async () => {
          await this.write(this.tokensNote, "DELETE", `/api/v1/tokens/${encodeURIComponent(String(token.id))}`, undefined,
            `${name} was revoked.`);
          this.loadTokens();
          this.loadAudit();
        }, showActions),
    }));
    showActions();
    return h("li", { className: "row", "data-token": name },
      h("p", { className: "row-title" }, h("strong", { className: "name", text: name }), ` (${token.scope})`),
      h("p", { className: "hint", text: describeToken(token) }),
      actions);
  }

  addTokenForm() {
    const name = h("input", { name: "name", autocomplete: "off", spellcheck: false, required: true, placeholder: "e.g. prometheus" });
    const scope = select("scope", SCOPES, "read");
    const error = h("p", { className: "form-error", role: "alert" });
    const form = h("form", {
      className: "stack", noValidate: true, "aria-labelledby": "add-token-title", onsubmit: async (event) => {
        event.preventDefault();
        const problem = checkName(name.value).replace("user name", "token name");
        if (problem) {
          error.textContent = problem;
          return;
        }
        const created = await this.write(error, "POST", "/api/v1/tokens", { name: name.value, scope: scope.value }, "");
        if (created && typeof created.token === "string") {
          form.reset();
          this.showNewToken(created);
          this.loadTokens();
          this.loadAudit();
        }
      },
    },
    h("h4", { id: "add-token-title", text: "Create a token" }),
    ...field("Token name", name),
    ...field("Scope", scope),
    error,
    h("button", { type: "submit", text: "Create token" }));
    return form;
  }

  // The only time the token is on screen: copy it, then Done takes it off the page for good.
  showNewToken(created) {
    const value = h("input", { className: "token-value", readOnly: true, value: created.token, spellcheck: false });
    value.setAttribute("aria-label", `The token ${created.name}`);
    const copied = h("p", { className: "hint", role: "status" });
    const box = this.newToken;
    box.replaceChildren(
      h("p", { className: "row-title" }, "New token ", h("strong", { text: String(created.name) }), ` (${created.scope})`),
      h("p", { className: "warning", text: "Copy it now: you won't see it again. The device keeps only a hash of it." }),
      value,
      h("div", { className: "actions" },
        h("button", { type: "button", text: "Copy", onclick: async () => {
          copied.textContent = (await copy(value)) ? "Copied." : "This browser did not let the page copy it: select it and copy it by hand.";
        } }),
        h("button", { type: "button", text: "Done", onclick: () => {
          box.replaceChildren();
          box.hidden = true;
        } })),
      copied);
    box.hidden = false;
    value.focus();
    value.select();
  }

  // ---- audit ---------------------------------------------------------------------------------

  async loadAudit() {
    const answer = await this.ask(this.auditNote, `/api/v1/audit?limit=${AUDIT_LIMIT}`);
    if (!answer) return;
    const events = Array.isArray(answer.events) ? answer.events : [];
    // Newest first, as the API sends them; sorted again so that an older app's order cannot mislead.
    const sorted = [...events].sort((a, b) => (b.at ?? 0) - (a.at ?? 0));
    this.audit.replaceChildren(...sorted.map((event) => h("li", { "data-action": String(event.action) },
      h("time", { text: formatWhen(event.at) }), " ", describeEvent(event))));
    if (!sorted.length) this.audit.append(h("li", { className: "hint", text: "Nothing yet." }));
  }

  // ---- talking to the API --------------------------------------------------------------------

  async ask(where, path) {
    try {
      return await request(path);
    } catch (err) {
      if (err.status !== 401) this.say(where, `Could not load: ${err.message}`, true);
      return null;
    }
  }

  /** Send a write; say `done` (when not empty) or the refusal in `where`. The answer, or null when refused. */
  async write(where, method, path, body, done) {
    try {
      const answer = await request(path, { method, body });
      if (done) this.say(where, done);
      else where.textContent = "";
      return answer ?? {};
    } catch (err) {
      if (err.status !== 401) this.say(where, err.message, true); // a 401 shows the sign-in page
      return null;
    }
  }

  say(where, message, failed = false) {
    where.textContent = message;
    where.classList.toggle("form-error", failed);
  }
}

const note = () => h("p", { className: "note", role: "status" });

// Ask before something that cannot be undone, in the row itself (keyboard first: focus goes to
// the safe choice); `back` shows the row's actions again.
function confirmInline(container, question, yes, action, back) {
  const keep = h("button", { type: "button", text: "Keep", onclick: back });
  container.replaceChildren(
    h("p", { className: "warning", text: question }),
    h("button", { type: "button", className: "danger", text: yes, onclick: action }),
    keep);
  keep.focus();
}

async function copy(input) {
  input.focus();
  input.select();
  try {
    // The Clipboard API needs a secure context; a device on a LAN is usually plain http.
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(input.value);
      return true;
    }
    return document.execCommand("copy");
  } catch {
    return false;
  }
}
