// What the accounts page says about users, tokens and audit events, in words. Pure (no DOM), so
// node --test checks it; part of the accounts page's lazy chunk. Every name in these sentences was
// typed by someone: the page puts them in the DOM as text only.

import { formatAgo, formatTime } from "../format.js";

const ACTIONS = {
  login: "signed in as",
  login_failed: "failed to sign in as",
  logout: "signed out",
  claim: "claimed the device",
  user_added: "added the user",
  user_changed: "changed the user",
  user_removed: "removed the user",
  sessions_ended: "ended every session of",
  token_added: "created the token",
  token_revoked: "revoked the token",
  setup_code_failed: "gave a wrong setup code",
};

// What an action on one's own account says.
const ON_THEMSELVES = {
  login: "signed in",
  claim: "claimed the device",
  logout: "signed out",
  sessions_ended: "signed out everywhere",
  user_changed: "changed their own account",
};

const text = (value) => (value == null ? "" : String(value));
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** A time of the API (Unix seconds) with its date, or "never" for null. */
export function formatWhen(seconds) {
  return typeof seconds === "number" ? formatTime(seconds, true) : "never";
}

/** One line about a user: when added, when last signed in, how many sessions they have open. */
export function describeUser(user, now = Date.now() / 1000) {
  const last = typeof user.last_login === "number" ? `last signed in ${formatAgo(user.last_login, now)}` : "never signed in";
  const sessions = typeof user.sessions === "number" ? `, ${plural(user.sessions, "session", "sessions")} open` : "";
  return `Added ${formatAgo(user.created, now)}, ${last}${sessions}.`;
}

/** One line about a token: who made it and when, and when it was last used. */
export function describeToken(token, now = Date.now() / 1000) {
  const by = token.created_by ? ` by ${text(token.created_by)}` : "";
  const used = typeof token.last_used === "number" ? `last used ${formatAgo(token.last_used, now)}` : "never used";
  return `Created ${formatAgo(token.created, now)}${by}, ${used}.`;
}

// The API's placeholders: "-" for no actor (a failed sign-in) or no target (a wrong setup code).
const NOBODY = "-";
// The accounts command on the device (`python -m frostserver.accounts`, `make user`) is the actor
// "cli" from the client "local".
const LOCAL = "local";

/**
 * An audit event as a sentence without its time: "ada signed in", "ada added the user bob",
 * "someone failed to sign in as (unknown user) (wrong password)"; the client address and an
 * outcome other than "ok" follow.
 */
export function describeEvent(event) {
  const actor = event.actor === NOBODY ? "someone" : text(event.actor) || "someone";
  let action = ACTIONS[event.action] || text(event.action).replace(/_/g, " ");
  let target = event.target === NOBODY ? "" : text(event.target);
  if (target && sameName(target, actor) && ON_THEMSELVES[event.action]) {
    action = ON_THEMSELVES[event.action]; // "ada signed in", not "ada signed in as ada"
    target = "";
  }
  let sentence = [actor, action, target].filter(Boolean).join(" ");
  const outcome = text(event.outcome);
  if (outcome && outcome !== "ok" && outcome !== "success") sentence += ` (${outcome})`;
  if (event.client === LOCAL) sentence += ", on the device";
  else if (event.client) sentence += `, from ${text(event.client)}`;
  return sentence;
}

/** Whether two user names are the same account: names are unique regardless of case. */
export function sameName(a, b) {
  return text(a).toLowerCase() === text(b).toLowerCase();
}
