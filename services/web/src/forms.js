// The checks the account forms make before sending (the server makes them again, and is the one
// that counts): setup codes, user names, new passwords, and what a 429 says. Pure, so the sign-in
// and claim pages and the lazily loaded accounts page share one copy. Each check returns the
// message to show, or "" when the input is fine.

export const CODE_LENGTH = 12;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 1024;

/**
 * A setup code as typed or pasted, in the printed shape XXXX-XXXX-XXXX: spaces and dashes (any
 * kind: a chat or a PDF turns "-" into "‐" or "–") dropped, letters upper case. Something that is
 * not 12 letters and digits comes back cleaned but not grouped, for checkCode to refuse.
 */
export function normalizeCode(text) {
  const bare = String(text).replace(/[\s\-\u2010-\u2015\u2212]/g, "").toUpperCase();
  if (!/^[A-Z0-9]+$/.test(bare) || bare.length !== CODE_LENGTH) return bare;
  return bare.match(/.{4}/g).join("-");
}

export function checkCode(text) {
  const bare = normalizeCode(text).replace(/-/g, "");
  if (!bare) return "Enter the setup code: make up printed it, and it is in the app's log.";
  if (!/^[A-Z0-9]+$/.test(bare)) return "A setup code has only letters and digits (XXXX-XXXX-XXXX).";
  if (bare.length !== CODE_LENGTH) {
    return `A setup code has ${CODE_LENGTH} letters and digits (XXXX-XXXX-XXXX); this one has ${bare.length}.`;
  }
  return "";
}

export function checkName(name) {
  if (!name) return "Enter a user name.";
  if (!NAME.test(name)) return "A user name is 1 to 64 letters, digits, dots, dashes or underscores.";
  return "";
}

// Characters as the server counts them (code points): an emoji is one, not two UTF-16 units.
const length = (text) => [...text].length;

/** A new password and its repetition. */
export function checkNewPassword(password, repeated) {
  if (length(password) < PASSWORD_MIN) return `A password has at least ${PASSWORD_MIN} characters.`;
  if (length(password) > PASSWORD_MAX) return `A password has at most ${PASSWORD_MAX} characters.`;
  if (password !== repeated) return "The two passwords differ: type the same one twice.";
  return "";
}

/**
 * Seconds to wait from a Retry-After header (seconds, or an HTTP date), at least 1; null when
 * it says nothing usable.
 */
export function retryAfterSeconds(header, now = Date.now()) {
  const text = String(header ?? "").trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Math.max(1, Number(text));
  if (!/^[A-Za-z]{3}, /.test(text)) return null; // an HTTP date ("Fri, 02 Jan 2026 ..."), not whatever Date.parse guesses at
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(1, Math.ceil((at - now) / 1000));
}

/** What a 429 tells the person at the form (a no-break space keeps a number with its unit). */
export function tooManyAttempts(header, now = Date.now()) {
  const seconds = retryAfterSeconds(header, now);
  if (seconds == null) return "Too many attempts, try again in a few minutes.";
  if (seconds < 120) return `Too many attempts, try again in ${seconds}\u00a0s.`;
  return `Too many attempts, try again in ${Math.ceil(seconds / 60)}\u00a0min.`;
}
