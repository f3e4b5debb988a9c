// The FrostServer JSON API, same origin. Every failure becomes an ApiError with the HTTP status
// (0 when the network itself failed) and the message the server put in its JSON error body.
// Writes carry the session's CSRF token (X-CSRF-Token); a 401 on any request but a sign-in means
// nobody (or nobody any more) is signed in, and goes to the handler set by useSession().

export class ApiError extends Error {
  constructor(status, message, retryAfter = null, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.retryAfter = retryAfter; // a 429's Retry-After header, as sent
    // A 400 names the field it refuses ({"field": "label"}); a 409 carries the current state.
    this.field = body && typeof body.field === "string" ? body.field : null;
    this.body = body && typeof body === "object" ? body : null;
  }
}

let csrfToken = null;
let unauthorized = () => {};

/** Use `csrf` on every write from now on, and call `onUnauthorized()` on any 401. */
export function useSession({ csrf = null, onUnauthorized = () => {} } = {}) {
  csrfToken = csrf;
  unauthorized = onUnauthorized;
}

// The app answers errors as JSON; nginx answers 502/503 as JSON too when the app is down.
// Accept the usual shapes without depending on one.
function messageOf(body, fallback) {
  const error = body && body.error;
  // FrostServer's shape: {"status", "error": the reason phrase, "message": what went wrong}.
  if (body && typeof body.message === "string") return body.message;
  if (typeof error === "string") return error;
  if (error && typeof error.message === "string") return error.message;
  return fallback;
}

/**
 * Ask the API: `body` (an object) is sent as JSON. Resolves to the answer's JSON, or null for an
 * answer without a body (204). `signIn`: a 401 is the answer to this request (a wrong password),
 * not a sign that the session ended.
 */
export async function request(path, { method = "GET", body, signal, signIn = false, ifMatch, contentType } = {}) {
  const headers = { Accept: "application/json" };
  const write = method !== "GET" && method !== "HEAD";
  if (body !== undefined) headers["Content-Type"] = contentType || "application/json";
  // The revision an edit starts from: a stale one is a 409, not a silent overwrite.
  if (ifMatch != null) headers["If-Match"] = `"${ifMatch}"`;
  if (write && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      // A string is sent as it is (an imported TOML file), anything else as JSON.
      body: body === undefined || typeof body === "string" ? body : JSON.stringify(body),
      cache: "no-store", // live readings: a cached answer is a wrong answer
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network unreachable");
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    // An HTML error page (or nothing) from a proxy: keep the status, drop the body.
  }
  if (!response.ok) {
    if (response.status === 401 && !signIn) unauthorized();
    throw new ApiError(response.status, messageOf(answer, `HTTP ${response.status} ${response.statusText}`.trim()),
      response.headers.get("Retry-After"), answer);
  }
  if (answer == null && !write) throw new ApiError(response.status, "answer is not JSON");
  return answer;
}

const getJSON = (path, options) => request(path, options);

/** Fetch the sensor list with their latest readings. */
export function fetchSensors(options) {
  return getJSON("/api/v1/sensors", options);
}

// For endpoints an older app lacks: its 404 means "not there", not a failure.
async function getJSONUnless404(path, options) {
  try {
    return await getJSON(path, options);
  } catch (err) {
    if (err.status === 404) return null;
    throw err;
  }
}

/** Fetch the sampled history of the last `seconds`, or null when the app has no history endpoint. */
export function fetchHistory(seconds, options) {
  return getJSONUnless404(`/api/v1/history?seconds=${Math.round(seconds)}`, options);
}

/**
 * The history API's URL for a range of Unix seconds, at its default step (about 1000 points per
 * sensor, raw samples when the range is recent and short); `format: "csv"` for the download, whose
 * temperatures are in `units` when that is "fahrenheit" (the API's default is SI).
 */
export function historyUrl(from, to, format, units) {
  const params = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
  if (format) params.set("format", format);
  if (format === "csv" && units === "fahrenheit") params.set("units", units);
  return `/api/v1/history?${params}`;
}

/** Fetch a history answer for a query string (the overview's sparklines); null without history. */
export function fetchHistoryQuery(query, options) {
  return getJSONUnless404(`/api/v1/history?${query}`, options);
}

/**
 * Fetch the settings changes of [from, to] ({changes: [{at, sensor, field, by}]}): the plots mark
 * calibration changes. Null from an app without settings (404), as before issue 22.
 */
export function fetchChanges(from, to, options) {
  const params = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
  return getJSONUnless404(`/api/v1/settings/changes?${params}`, options);
}

/** Fetch the points of a range: raw samples or, for a long one, min, max and mean per point. */
export function fetchRange(from, to, options) {
  return getJSON(historyUrl(from, to), options);
}

/**
 * Who is signed in: {user, via, csrf_token, anonymous, claim}. Null from an app without accounts
 * (404), as before issue 21.
 */
export function fetchSession(options) {
  return getJSONUnless404("/api/v1/session", options);
}

/**
 * Fetch the alerts: {active, recent, notifications}. Null when the app has no alerts API (404),
 * as before issue 14.
 */
export function fetchAlerts(options) {
  return getJSONUnless404("/api/v1/alerts", options);
}

export const STREAM_PATH = "/api/v1/stream";

/**
 * Find out why the stream failed: EventSource hides the HTTP status, so ask once with fetch and
 * hang up as soon as the headers are in. Resolves to the status, 0 for a network failure.
 */
export async function probeStream(timeoutMs = 5000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(STREAM_PATH, {
      headers: { Accept: "text/event-stream" },
      cache: "no-store",
      signal: controller.signal,
    });
    if (response.status === 401) unauthorized(); // EventSource hides it: a session that ended
    return response.status;
  } catch (err) {
    // A stream that sends no headers within the timeout exists but is slow: call it alive.
    return err.name === "AbortError" ? 200 : 0;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
