// Who is looking at the page, and which view they get (issue 21). Pure: the body of
// GET /api/v1/session and the location's hash in, a view's name out; signin.js does the DOM.
//
// Views: "dashboard" (the readings: the places overview, or "All sensors" at #all), "signin",
// "claim" (the first admin, with the setup code), "accounts" (users, tokens and the audit log) and
// "settings" (the device, alert rules, notification targets, export and import); the last two for
// admins only. The hash names the view asked for (#signin, #claim, #accounts, #settings, #all);
// the session decides whether it is the one shown.

const ADMIN_VIEWS = new Set(["accounts", "settings"]);

/** What the page needs of a session body, with safe defaults for anything missing or odd. */
export function readSession(body) {
  const known = body != null && typeof body === "object";
  const raw = known && body.user && typeof body.user === "object" ? body.user : null;
  const name = raw && typeof raw.name === "string" ? raw.name : "";
  return {
    // false: an app without accounts (no /api/v1/session), or one that did not answer: the page
    // shows the readings as before issue 21 and offers no sign-in.
    known,
    user: name ? { name, role: raw.role === "admin" ? "admin" : "viewer" } : null,
    csrfToken: known && typeof body.csrf_token === "string" ? body.csrf_token : null,
    // Anything but "none" reads as today: a page that hides the readings by mistake helps nobody,
    // and the server refuses what anonymous may not read anyway (a 401 then shows the sign-in).
    anonymous: known && body.anonymous === "none" ? "none" : "read",
    claim: known && body.claim === true,
  };
}

/**
 * The view to show for a session (from readSession) and the route asked for (the hash without
 * its "#"). A claimable device shows its readings to anonymous readers as before (with a link to
 * the claim page), unless anonymous may not read: then the claim page comes first.
 */
export function chooseView(session, route = "") {
  if (!session.known) return "dashboard";
  if (session.user) {
    return ADMIN_VIEWS.has(route) && session.user.role === "admin" ? route : "dashboard";
  }
  if (route === "claim" && session.claim) return "claim";
  if (route === "signin") return "signin";
  if (session.anonymous === "none") return session.claim ? "claim" : "signin";
  return "dashboard";
}

/** Which part of the readings a route shows: "all" (the hardware panels) or "overview" (places). */
export function dashboardPart(route = "") {
  return route === "all" ? "all" : "overview";
}

/** Whether a session may change the device (settings, a sensor's sheet): admins only. */
export function canEdit(session) {
  return session.user?.role === "admin";
}

/**
 * Which parts of the header's account area apply: "user" (name, role, sign-out), "admin" (the
 * settings and accounts links), "reader" (a "Sign in" link), "claim" (a "Claim this device" link).
 */
export function accountParts(session) {
  if (!session.known) return [];
  if (session.user) return session.user.role === "admin" ? ["user", "admin"] : ["user"];
  return session.claim ? ["reader", "claim"] : ["reader"];
}
