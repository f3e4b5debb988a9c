// The session on the page (issue 21): asks GET /api/v1/session once, shows the view it decides
// (session.js), the header's account area, and the sign-in and claim forms, whose markup is in
// index.html. The accounts and settings pages, which only admins open, are lazy chunks
// (pages/accounts.js, pages/settings.js).
// A sign-in, a claim or a sign-out reloads the page: every part then starts from the new session.

import { ApiError, fetchSession, request, useSession } from "./api.js";
import { checkCode, checkName, checkNewPassword, normalizeCode, tooManyAttempts } from "./forms.js";
import { lazy } from "./lazy.js";
import { accountParts, chooseView, readSession } from "./session.js";

const $ = (id) => document.getElementById(id);
const accountsPage = lazy(() => import("./pages/accounts.js"), "the accounts page");
const settingsPage = lazy(() => import("./pages/settings.js"), "the settings page");

let session = readSession(null);
let onDashboard = () => {};
let onEnded = () => {};
let shown = "";

/**
 * Ask who is signed in, then show the view that fits: `dashboard(session, route)` starts the
 * readings' view (called whenever it is shown, or its route changes), `ended()` stops it when a
 * 401 says reading needs a sign-in.
 */
export async function startSession({ dashboard, ended }) {
  onDashboard = dashboard;
  onEnded = ended;
  try {
    session = readSession(await fetchSession());
  } catch (err) {
    // The app is down or restarting: show the readings' view, which says so and retries. If
    // reading needs a sign-in, its first 401 brings the sign-in page.
    console.info("session:", err.message);
  }
  useSession({ csrf: session.csrfToken, onUnauthorized: sessionEnded });
  showAccount();
  setupForm($("signin-form"), signIn);
  setupForm($("claim-form"), claim);
  // A pasted code shows as printed (XXXX-XXXX-XXXX) once the field is left.
  $("claim-code").addEventListener("change", (event) => (event.target.value = normalizeCode(event.target.value)));
  $("sign-out").addEventListener("click", signOut);
  addEventListener("hashchange", route);
  route();
}

function route() {
  const view = chooseView(session, location.hash.slice(1));
  for (const element of document.querySelectorAll("[data-view]")) {
    element.hidden = !element.dataset.view.split(" ").includes(view);
  }
  const firstTime = view !== shown;
  shown = view;
  if (view === "dashboard") onDashboard(session, location.hash.slice(1));
  if (view === "signin" && session.anonymous === "none" && $("signin-why").hidden) explain("This device shows its readings to signed-in users only.");
  if (view === "accounts" && firstTime) openAccounts();
  if (view === "settings" && firstTime) openSettings();
  if (firstTime && (view === "signin" || view === "claim")) {
    // The first empty field, so that a keyboard (or a password manager) starts at the right one.
    const fields = [...$(view).querySelectorAll("input")];
    (fields.find((field) => !field.value) || fields[0]).focus();
  }
}

async function openAccounts() {
  const section = $("accounts");
  try {
    const { showAccounts } = await accountsPage();
    showAccounts(section, session);
  } catch (err) {
    $("accounts-loading").textContent = err.message;
  }
}

async function openSettings() {
  const section = $("settings");
  try {
    const { showSettings } = await settingsPage();
    showSettings(section, session);
  } catch (err) {
    $("settings-loading").textContent = err.message;
  }
}

function showAccount() {
  const parts = accountParts(session);
  const area = $("account");
  area.dataset.view = parts.length ? "dashboard accounts settings" : "none"; // an app without accounts
  for (const part of area.children) part.hidden = !parts.includes(part.dataset.when);
  if (session.user) {
    $("account-name").textContent = session.user.name;
    $("account-role").textContent = `(${session.user.role})`;
  }
  $("claim-note").hidden = !(session.claim && !session.user);
  for (const link of document.querySelectorAll(".auth [data-when]")) {
    link.hidden = !(link.dataset.when === "read" ? session.anonymous === "read" : session.claim);
  }
}

function explain(why) {
  const element = $("signin-why");
  element.hidden = false;
  element.textContent = why;
}

// Any 401: the session ended (signed out elsewhere, expired, revoked) or what was asked needs one.
function sessionEnded() {
  // Several requests in flight when a session ends each get their 401: the first one says why,
  // the others must not replace "Your session has ended" with the anonymous visitor's sentence.
  if (!session.user && location.hash === "#signin") return;
  explain(session.user ? "Your session has ended: sign in again." : "Sign in to go on.");
  session = { ...session, user: null };
  onEnded(); // no point asking for readings every few seconds to be refused each time
  showAccount();
  if (location.hash !== "#signin") location.hash = "signin";
  else route();
}

// ---- the forms ---------------------------------------------------------------------------------

// `send(fields)` checks and sends the form's fields ({name: value}); what it throws is shown as
// text under the form: a message of its own (a check) or the API's.
function setupForm(form, send) {
  const error = form.querySelector(".form-error");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (button.disabled) return; // one at a time: a double Enter is one attempt
    const fields = Object.fromEntries(new FormData(form));
    error.textContent = "";
    for (const input of form.elements) input.removeAttribute("aria-invalid");
    button.disabled = true;
    try {
      await send(fields);
      reload();
    } catch (err) {
      error.textContent = err instanceof ApiError && err.status === 429 ? tooManyAttempts(err.retryAfter) : err.message;
      const field = form.elements[err.field];
      if (field) {
        field.setAttribute("aria-invalid", "true");
        if (err.clear) field.value = "";
        field.focus();
        field.select?.();
      }
    } finally {
      button.disabled = false;
    }
  });
}

// A check's refusal, naming the field to fix.
class FormProblem extends Error {
  constructor(message, field, clear = false) {
    super(message);
    this.field = field;
    this.clear = clear;
  }
}

async function signIn({ username, password }) {
  if (!username) throw new FormProblem("Enter your user name.", "username");
  if (!password) throw new FormProblem("Enter your password.", "password");
  try {
    await request("/api/v1/session", { method: "POST", body: { username, password }, signIn: true });
  } catch (err) {
    // The server does not say which of the two was wrong: the password is what gets typed again.
    if (err.status === 401) throw new FormProblem(err.message, "password", true);
    throw err;
  }
}

async function claim({ code, username, password, repeat }) {
  const problem = [
    [checkCode(code), "code"],
    [checkName(username), "username"],
    [checkNewPassword(password, password), "password"],
    [checkNewPassword(password, repeat), "repeat"],
  ].find(([message]) => message);
  if (problem) throw new FormProblem(...problem);
  try {
    await request("/api/v1/claim", { method: "POST", body: { code: normalizeCode(code), username, password }, signIn: true });
  } catch (err) {
    // A wrong or used code: that field is the one to fix, the others stay as typed.
    if (err.status === 403) throw new FormProblem(err.message, "code");
    if (err.status === 400 && /name/i.test(err.message)) throw new FormProblem(err.message, "username");
    throw err;
  }
}

async function signOut() {
  try {
    await request("/api/v1/session", { method: "DELETE", signIn: true });
  } catch (err) {
    if (err.status !== 401) {
      showError(`Could not sign out: ${err.message}`);
      return;
    }
    // 401: the session had already ended; the page still thinks otherwise until it reloads.
  }
  reload();
}

// A fresh page for the new session, at the view that was asked for (#accounts), else the first one.
function reload() {
  if (location.hash === "#signin" || location.hash === "#claim") location.replace(location.pathname + location.search);
  else location.reload();
}

function showError(message) {
  const error = $("account-error");
  error.hidden = false;
  error.textContent = message;
}
