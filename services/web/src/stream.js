// The live feed of samples, alert changes and the connection state the page shows.
// Server-Sent Events first (the browser reconnects by itself after a dropped connection);
// when the app has no stream endpoint (404) we poll /api/v1/sensors once per interval instead
// (alert changes come only with the stream; the caller fetches the alert list while polling).
//
// States: "connecting" (first try), "live", "reconnecting" (lost, trying again) and "offline"
// (the API answers an error such as nginx's 502/503 while the app is down, or nothing at all).

import { fetchSensors, probeStream, STREAM_PATH } from "./api.js";

const NO_STREAM = new Set([404, 405, 501]);
const POLLS_BETWEEN_STREAM_PROBES = 300; // while polling, look for a newly deployed stream now and then

function describe(problem) {
  const status = typeof problem === "number" ? problem : problem.status;
  if (status === 0) return "the API cannot be reached";
  if (typeof problem === "number") return `the API answers HTTP ${status}`;
  return status ? `the API answers HTTP ${status}: ${problem.message}` : problem.message;
}

// An event's JSON, or undefined: one garbled event is not worth dropping the connection for.
function dataOf(event) {
  try {
    return JSON.parse(event.data);
  } catch {
    return undefined;
  }
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
 * "firing" or "resolved") to `onAlert(change)`, connection states to `onState({name, mode, detail})`
 * and, while polling, each sensor list to `onSensors(answer)`.
 * Returns a handle to stop the feed or change the expected sample interval (seconds).
 */
export function startSampleFeed({ onSample, onAlert = () => {}, onSensors, onState, interval = 1 }) {
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

  // 1 s, 2 s, 4 s, 8 s, then every 15 s: recovers quickly from a restart without hammering nginx.
  const backoff = () => Math.min(15, 2 ** Math.min(failures - 1, 4)) * 1000;

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
    }, Math.max(10, 10 * interval) * 1000);
  }

  async function diagnose() {
    const status = await probeStream();
    if (stopped) return;
    if (NO_STREAM.has(status)) {
      startPolling();
      return;
    }
    failures++;
    setState(status === 200 ? "reconnecting" : "offline", status === 200 ? "" : describe(status));
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
      setState(failures > 1 ? "offline" : "reconnecting", describe(err));
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
