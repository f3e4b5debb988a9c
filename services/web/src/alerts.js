// The device's alerts on the page (issue 14): the set firing now, the banner that lists it, and
// which changes are news. The set is a snapshot of /api/v1/alerts, fetched whenever the stream
// (re)connects (an alert may have fired or resolved meanwhile), kept current by the stream's
// `alert` events in between. Only a change that reaches the page after its snapshot is news: the
// alerts already active when the page loads are shown, not notified.

import { fetchAlerts } from "./api.js";
import { formatAgo, formatTime, shorten, temperaturesInText } from "./format.js";

const SEVERITY_WORDS = { critical: "Critical", warning: "Warning" };
const TICK_MS = 30_000; // "since 3 min ago" is coarse: a redraw each half minute keeps it true
const RETRY_MS = 15_000; // after a failed snapshot (not a 404: that app has no alerts at all)
const SUMMARY_CHARS = 240; // a summary quotes its sensor's label: a hostile one stays a few lines

/** Return an alert of the API in the page's shape (unknown fields dropped), or null without a key. */
export function readAlert(raw) {
  if (!raw || typeof raw !== "object" || typeof raw.key !== "string" || !raw.key) return null;
  const text = (value) => (typeof value === "string" ? value : "");
  const time = (value) => (typeof value === "number" && Number.isFinite(value) ? value : null);
  const sensor = text(raw.sensor) || null; // null: a device-wide alert, which marks no sensor
  return {
    key: raw.key,
    sensor,
    label: text(raw.label) || sensor || text(raw.rule) || raw.key,
    severity: raw.severity === "critical" ? "critical" : "warning", // an unknown one still shows
    summary: text(raw.summary),
    fired_at: time(raw.fired_at),
  };
}

// Whether `alert` fired since `before` (a copy of the active set): new, or resolved and fired again.
const firedSince = (before, key, alert) => before.get(key)?.fired_at !== alert.fired_at;

/** The worse of two severities, either of which may be undefined. */
export function worseSeverity(a, b) {
  return a === "critical" || b === "critical" ? "critical" : a || b;
}

/** Order alerts as the banner lists them: oldest firing first, those without a time last. */
export function byFiredAt(a, b) {
  return (a.fired_at ?? Infinity) - (b.fired_at ?? Infinity);
}

/**
 * Apply one change (an alert read by readAlert, and its state) to `active` (key -> alert).
 * Returns "firing" or "resolved" when the set changed that way, "updated" when an active alert
 * got new details, null when nothing changed (a late or unknown change).
 */
export function applyChange(active, alert, state) {
  if (!alert) return null;
  const current = active.get(alert.key);
  const older = current && current.fired_at != null && alert.fired_at != null && alert.fired_at < current.fired_at;
  if (state === "resolved") {
    if (!current || older) return null; // a late "resolved" of an earlier firing ends nothing
    active.delete(alert.key);
    return "resolved";
  }
  if (state !== "firing" || older) return null;
  active.set(alert.key, alert);
  if (!current) return "firing";
  return current.fired_at === alert.fired_at ? "updated" : "firing"; // resolved and fired again
}

/**
 * Keep the active alerts and show them in `banner` (a section with an h2 and a ul, hidden when
 * none are active; its items from the #alert-item template); `announcer` (role="alert") says what changed. `onChange(alerts)` gets the
 * active alerts after each change, `onNews(alert, "firing" | "resolved")` each change that is news.
 * Returns {refresh() to fetch the snapshot again, onEvent(change) for the stream's events}.
 */
export function setupAlerts(banner, announcer, { onChange = () => {}, onNews = () => {} } = {}) {
  const active = new Map(); // key -> alert
  const title = banner.querySelector("h2");
  const list = banner.querySelector("ul");
  const targetsNote = banner.querySelector(".alerts-targets");
  const template = document.getElementById("alert-item"); // one <li> of the banner
  let buffered = null; // the stream's changes that arrive while a snapshot is being fetched
  let again = false; // asked to refresh while fetching: the answer in flight may predate the ask
  let retryTimer = 0;
  let ticker = 0;
  let targets = null; // how many notification targets the device has, when it said
  let loaded = false; // a snapshot has been applied: later ones bring news

  function onEvent(change) {
    if (buffered) {
      buffered.push(change);
      return;
    }
    const before = new Map(active);
    const alert = readAlert(change);
    const result = applyChange(active, alert, change.state);
    if (!result) return;
    changed(before);
    if (result !== "updated") onNews(alert, result);
  }

  async function refresh() {
    clearTimeout(retryTimer);
    if (buffered) {
      again = true;
      return;
    }
    buffered = [];
    let answer;
    try {
      answer = await fetchAlerts();
      if (answer === null) console.info("alerts: this app has no alerts API (404); no banner");
      else if (!Array.isArray(answer.active)) throw new Error("the answer has no list of active alerts");
    } catch (err) {
      answer = undefined;
      // A 401 shows the sign-in page (api.js); the feed asks again once it is live again.
      if (err.status !== 401) {
        console.info(`alerts: ${err.message}; trying again in ${RETRY_MS / 1000} s`);
        retryTimer = setTimeout(refresh, RETRY_MS);
      }
    }
    const changes = buffered;
    buffered = null;
    const before = new Map(active);
    const news = [];
    if (answer !== undefined) {
      active.clear();
      for (const raw of answer?.active || []) {
        const alert = readAlert(raw);
        if (alert) active.set(alert.key, alert);
      }
      const count = answer?.notifications?.targets;
      targets = typeof count === "number" ? count : null;
      // After a reconnect, what changed while the page was away is news; the first snapshot's
      // alerts, active before the page was opened, are not.
      if (loaded) {
        for (const [key, alert] of active) if (firedSince(before, key, alert)) news.push([alert, "firing"]);
        for (const [key, alert] of before) if (!active.has(key)) news.push([alert, "resolved"]);
      }
      loaded = true;
    }
    // What the stream said during the fetch may be newer than the snapshot: replay it. A change
    // the snapshot already holds changes nothing again, and so is no news.
    for (const change of changes) {
      const alert = readAlert(change);
      const result = applyChange(active, alert, change.state);
      if (result === "firing" || result === "resolved") news.push([alert, result]);
    }
    changed(before);
    for (const [alert, state] of news) onNews(alert, state);
    if (again) {
      again = false;
      refresh();
    }
  }

  function changed(before) {
    render();
    announce(before);
    onChange([...active.values()]);
  }

  // Says what the notifications say (firedSince), and on the first snapshot what is active already.
  function announce(before) {
    const lines = [];
    for (const [key, alert] of active) {
      if (firedSince(before, key, alert)) lines.push(`${SEVERITY_WORDS[alert.severity]} alert: ${temperaturesInText(alert.summary) || alert.label}`);
    }
    for (const [key, alert] of before) {
      if (!active.has(key)) lines.push(`Resolved: ${alert.label}`);
    }
    if (lines.length) announcer.textContent = lines.join(". ");
  }

  function render() {
    const alerts = [...active.values()].sort(byFiredAt);
    banner.hidden = alerts.length === 0;
    banner.dataset.severity = alerts.some((a) => a.severity === "critical") ? "critical" : "warning";
    title.textContent = alerts.length === 1 ? "1 active alert" : `${alerts.length} active alerts`;
    list.replaceChildren(...alerts.map(item));
    // The device sends alerts only to its configured targets: say so when it has none.
    targetsNote.hidden = targets !== 0;
    clearInterval(ticker);
    ticker = alerts.length ? setInterval(tick, TICK_MS) : 0;
  }

  function item(alert) {
    const element = template.content.firstElementChild.cloneNode(true);
    element.dataset.severity = alert.severity;
    element.dataset.key = alert.key;
    if (alert.sensor) element.dataset.sensor = alert.sensor;
    const part = (name) => element.querySelector(`.alert-${name}`);
    part("severity").textContent = SEVERITY_WORDS[alert.severity];
    // The label is cut short by the stylesheet, the summary here: both whole in their titles.
    part("label").textContent = part("label").title = alert.label;
    const summary = temperaturesInText(alert.summary); // in the display units, as the rest of the page
    part("summary").textContent = shorten(summary, SUMMARY_CHARS);
    part("summary").title = summary;
    const since = part("since");
    if (alert.fired_at != null) {
      since.dateTime = new Date(alert.fired_at * 1000).toISOString();
      since.title = formatTime(alert.fired_at, true);
      since.dataset.t = alert.fired_at;
      since.textContent = sinceText(alert.fired_at);
    }
    return element;
  }

  function tick() {
    for (const since of list.querySelectorAll("time[data-t]")) {
      const text = sinceText(Number(since.dataset.t));
      if (since.textContent !== text) since.textContent = text;
    }
  }

  // The display units changed: the summaries again, in the new ones.
  return { refresh, onEvent, redraw: render };
}

function sinceText(firedAt) {
  const ago = formatAgo(firedAt);
  return ago === "just now" ? ago : `since ${ago}`;
}
