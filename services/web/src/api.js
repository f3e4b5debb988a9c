// The FrostServer JSON API, same origin. Every failure becomes an ApiError with the HTTP status
// (0 when the network itself failed) and the message the server put in its JSON error body.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
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

async function getJSON(path, { signal } = {}) {
  let response;
  try {
    response = await fetch(path, {
      headers: { Accept: "application/json" },
      cache: "no-store", // live readings: a cached answer is a wrong answer
      signal,
    });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network unreachable");
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // An HTML error page (or nothing) from a proxy: keep the status, drop the body.
  }
  if (!response.ok) {
    throw new ApiError(response.status, messageOf(body, `HTTP ${response.status} ${response.statusText}`.trim()));
  }
  if (body == null) throw new ApiError(response.status, "answer is not JSON");
  return body;
}

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
 * sensor, raw samples when the range is recent and short); `format: "csv"` for the download.
 */
export function historyUrl(from, to, format) {
  const params = new URLSearchParams({ from: String(Math.floor(from)), to: String(Math.ceil(to)) });
  if (format) params.set("format", format);
  return `/api/v1/history?${params}`;
}

/** Fetch the points of a range: raw samples or, for a long one, min, max and mean per point. */
export function fetchRange(from, to, options) {
  return getJSON(historyUrl(from, to), options);
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
    return response.status;
  } catch (err) {
    // A stream that sends no headers within the timeout exists but is slow: call it alive.
    return err.name === "AbortError" ? 200 : 0;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}
