// The live feed of samples, alert changes and the connection state the page shows.
// Server-Sent Events first (the browser reconnects by itself after a dropped connection);
// when the app has no stream endpoint (404) we poll /api/v1/sensors once per interval instead
// (alert changes come only with the stream; the caller fetches the alert list while polling).
//
// States: "connecting" (first try), "live", "reconnecting" (lost, trying again) and "offline"
// (the API answers an error such as nginx's 502/503 while the app is down, or nothing at all).

import { fetchSensors, probeStream, STREAM_PATH } from "./api.js";

const NO_STREAM = new Set([404, 405, 501]);
export const POLLS_BETWEEN_STREAM_PROBES = 300; // while polling, look for a newly deployed stream now and then

// ---- the feed's decisions, pure (startSampleFeed below does the I/O and the timers) ----------

/** Say in words why the API failed: an HTTP status, or an ApiError ({status, message}). */
export function describe(problem) {
  const status = typeof problem === "number" ? problem : problem.status;
  if (status === 0) return "the API cannot be reached";
  if (typeof problem === "number") return `the API answers HTTP ${status}`;
  return status ? `the API answers HTTP ${status}: ${problem.message}` : problem.message;
}

/** An event's JSON, or undefined: one garbled event is not worth dropping the connection for. */
export function dataOf(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return undefined;
  }
}

/**
 * How long to wait before the next try after `failures` failures in a row (at least 1):
 * 1 s, 2 s, 4 s, 8 s, then every 15 s: recovers quickly from a restart without hammering nginx.
 */
export function backoffMs(failures) {
  return Math.min(15, 2 ** Math.min(Math.max(failures, 1) - 1, 4)) * 1000;
}

/** How long an open stream may bring no sample before it counts as stalled: ten intervals, at least 10 s. */
export function stalledAfterMs(interval) {
  return Math.max(10, 10 * interval) * 1000;
}

/**
 * What to do once the stream closed and a plain request said why (`status`, 0 for no answer):
 * {poll: true} when the app has no stream (an older app), else the state to show while retrying.
 */
export function afterStreamClosed(status) {
  if (NO_STREAM.has(status)) return { poll: true };
  if (status === 200) return { poll: false, name: "reconnecting", detail: "" }; // it answers now
  return { poll: false, name: "offline", detail: describe(status) };
}

/** The state to show after `failures` failed polls in a row: one may be a blip, two are an outage. */
export function afterPollFailed(failures, error) {
  return { name: failures > 1 ? "offline" : "reconnecting", detail: describe(error) };
}

/** Convert a /api/v1/sensors answer into the shape of a stream sample. */
export function sampleOfSensors(answer) {
  const values = {};
  const status = {};
  for (const sensor of answer.sensors || []) {
    values[sensor.id] = sensor.value;
    if (sensor.status && sensor.status !== "ok") status[sensor.id] = sensor.status;
  }
  return { t: answer.sampled_at, values, status };
}

/**
 * Start feeding samples to `onSample({t, values, status})`, alert changes (an alert plus `state`,
 * "firing" or "resolved") to `onAlert(change)`, settings changes (issue 22: {revision}) to
 * `onSettings(change)`, connection states to `onState({name, mode, detail})` and, while polling,
 * each sensor list to `onSensors(answer)`.
 * Returns a handle to stop the feed or change the expected sample interval (seconds).
 */
export function startSampleFeed({ onSample, onAlert = () => {}, onSettings = () => {}, onSensors, onState, interval = 1 }) {
  let source = null;
  let timer = 0; // the next connect or poll
  let watchdog = 0;
  let failures = 0;
  let pollsUntilProbe = POLLS_BETWEEN_STREAM_PROBES;
  let stopped = false;
  let mode = "stream";
  let current = "";

  function setState(name, detail = "") {
    const key = `${name}|${mode}|${detail}`;
    if (key === current) return; // repeating the same state would make screen readers repeat it
    current = key;
    onState({ name, mode, detail });
  }

  const backoff = () => backoffMs(failures);

  function schedule(next, ms) {
    clearTimeout(timer);
    if (!stopped) timer = setTimeout(next, ms);
  }

  function openStream() {
    mode = "stream";
    const es = new EventSource(STREAM_PATH);
    source = es;
    es.addEventListener("open", () => {
      failures = 0;
      setState("live");
    });
    es.addEventListener("sample", (event) => {
      const sample = dataOf(event);
      if (sample === undefined) return;
      armWatchdog();
      setState("live");
      onSample(sample);
    });
    // Not a sign of samples flowing (a device-wide "sampling stopped" alert says the opposite):
    // alerts leave the watchdog alone.
    es.addEventListener("alert", (event) => {
      const change = dataOf(event);
      if (change && typeof change === "object") onAlert(change);
    });
    // A change of the device's settings (names, places, calibration, units...) made anywhere: the
    // page fetches the sensor list again. Not a sample either: the watchdog is left alone.
    es.addEventListener("settings", (event) => {
      const change = dataOf(event);
      onSettings(change && typeof change === "object" ? change : {});
    });
    es.addEventListener("error", () => {
      if (es !== source) return; // a late event from a connection we already closed
      if (es.readyState === EventSource.CONNECTING) {
        setState("reconnecting"); // the browser retries on its own
        return;
      }
      // CLOSED: the answer was not a stream (404, 502...). The browser gives up; find out why.
      closeStream();
      diagnose();
    });
  }

  function closeStream() {
    clearTimeout(watchdog);
    if (source) source.close();
    source = null;
  }

  // Heartbeat comments are invisible to EventSource, so a connection that is open but silent
  // (a stuck app, a buffering proxy) is only noticed by samples stopping. Armed by the first one,
  // so a stream that has no sensors to sample is not mistaken for a stalled one.
  function armWatchdog() {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      closeStream();
      failures++;
      setState("reconnecting", "no samples received lately");
      schedule(openStream, backoff());
    }, stalledAfterMs(interval));
  }

  async function diagnose() {
    const next = afterStreamClosed(await probeStream());
    if (stopped) return;
    if (next.poll) {
      startPolling();
      return;
    }
    failures++;
    setState(next.name, next.detail);
    schedule(openStream, backoff());
  }

  function startPolling() {
    mode = "polling";
    failures = 0;
    poll();
  }

  async function poll() {
    try {
      const answer = await fetchSensors();
      if (stopped) return;
      failures = 0;
      setState("live");
      onSensors(answer);
      if (answer.sampled_at != null) onSample(sampleOfSensors(answer));
    } catch (err) {
      if (stopped) return;
      failures++;
      const next = afterPollFailed(failures, err);
      setState(next.name, next.detail);
    }
    if (--pollsUntilProbe <= 0) {
      pollsUntilProbe = POLLS_BETWEEN_STREAM_PROBES;
      if ((await probeStream()) === 200 && !stopped) {
        openStream();
        return;
      }
    }
    schedule(poll, failures ? backoff() : interval * 1000);
  }

  setState("connecting");
  openStream();

  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      closeStream();
    },
    setInterval(seconds) {
      if (seconds > 0) interval = seconds;
    },
  };
}
