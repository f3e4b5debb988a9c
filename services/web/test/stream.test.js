// stream.js: the live feed's decisions (back-off, when a stream has stalled, when to fall back to
// polling) and the feed itself over a fake EventSource and fetch: no browser, no DOM.

import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import {
  afterPollFailed,
  afterStreamClosed,
  backoffMs,
  dataOf,
  describe as describeProblem,
  sampleOfSensors,
  stalledAfterMs,
  startSampleFeed,
} from "../src/stream.js";

describe("the feed's decisions", () => {
  it("backs off 1, 2, 4, 8 s, then retries every 15 s", () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 50].map(backoffMs), [1000, 2000, 4000, 8000, 15000, 15000, 15000]);
    assert.equal(backoffMs(0), 1000, "never sooner than a second");
  });

  it("calls a stream stalled after ten silent intervals, never sooner than 10 s", () => {
    assert.equal(stalledAfterMs(1), 10_000);
    assert.equal(stalledAfterMs(0.5), 10_000);
    assert.equal(stalledAfterMs(5), 50_000);
  });

  it("polls when the app has no stream endpoint, else says why while it retries", () => {
    for (const status of [404, 405, 501]) assert.deepEqual(afterStreamClosed(status), { poll: true });
    assert.deepEqual(afterStreamClosed(200), { poll: false, name: "reconnecting", detail: "" });
    assert.deepEqual(afterStreamClosed(503), { poll: false, name: "offline", detail: "the API answers HTTP 503" });
    assert.deepEqual(afterStreamClosed(0), { poll: false, name: "offline", detail: "the API cannot be reached" });
  });

  it("shows one failed poll as reconnecting and two in a row as offline, with the reason", () => {
    const error = { status: 502, message: "the app is not running" };
    assert.deepEqual(afterPollFailed(1, error), { name: "reconnecting", detail: "the API answers HTTP 502: the app is not running" });
    assert.equal(afterPollFailed(2, error).name, "offline");
    assert.equal(afterPollFailed(2, { status: 0, message: "network unreachable" }).detail, "the API cannot be reached");
    assert.equal(describeProblem({ message: "answer is not JSON" }), "answer is not JSON");
  });

  it("reads an event's JSON, and a garbled one as nothing", () => {
    assert.deepEqual(dataOf({ data: '{"t": 1}' }), { t: 1 });
    assert.equal(dataOf({ data: "{not json" }), undefined);
    assert.equal(dataOf({}), undefined);
  });

  it("turns a sensor list into a sample, with the statuses that are not ok", () => {
    const answer = {
      sampled_at: 100,
      sensors: [
        { id: "a", value: 1, status: "ok" },
        { id: "b", value: null, status: "fault" },
        { id: "c", value: 3 },
      ],
    };
    assert.deepEqual(sampleOfSensors(answer), { t: 100, values: { a: 1, b: null, c: 3 }, status: { b: "fault" } });
    assert.deepEqual(sampleOfSensors({}), { t: undefined, values: {}, status: {} });
  });
});

// ---- the feed over fakes ----------------------------------------------------------------------

class FakeEventSource {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSED = 2;
  static opened = [];

  constructor(url) {
    this.url = url;
    this.readyState = FakeEventSource.CONNECTING;
    this.listeners = new Map();
    FakeEventSource.opened.push(this);
  }

  addEventListener(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  emit(type, event = {}) {
    for (const listener of this.listeners.get(type) || []) listener(event);
  }

  close() {
    this.readyState = FakeEventSource.CLOSED;
  }
}

const json = (status, body) => ({ ok: status < 400, status, statusText: "", json: async () => body });

// Let the feed's promise chains (probe, then poll) run; bounded, so a broken feed fails the test.
async function until(condition, what) {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition(), `never happened: ${what}`);
}

describe("startSampleFeed", () => {
  let feed;
  let requests;
  let answers; // path -> response of the fake fetch
  let seen;

  beforeEach(() => {
    FakeEventSource.opened = [];
    requests = [];
    answers = new Map();
    seen = { samples: [], alerts: [], states: [], sensors: [], settings: [] };
    globalThis.EventSource = FakeEventSource;
    globalThis.fetch = async (path) => {
      requests.push(path);
      if (!answers.has(path)) throw new TypeError("fetch failed");
      return answers.get(path);
    };
    feed = null;
  });

  afterEach(() => {
    feed?.stop();
    delete globalThis.EventSource;
    delete globalThis.fetch;
  });

  const start = () =>
    startSampleFeed({
      onSample: (sample) => seen.samples.push(sample),
      onAlert: (change) => seen.alerts.push(change),
      onSettings: (change) => seen.settings.push(change),
      onSensors: (answer) => seen.sensors.push(answer),
      onState: (state) => seen.states.push(state),
    });

  it("passes the stream's samples and alert changes on, skipping a garbled event", () => {
    feed = start();
    const [source] = FakeEventSource.opened;
    assert.equal(source.url, "/api/v1/stream");
    source.emit("open");
    source.emit("sample", { data: '{"t": 5, "values": {"a": 1}}' });
    source.emit("sample", { data: "{garbled" });
    source.emit("alert", { data: '{"key": "k", "state": "firing"}' });
    source.emit("alert", { data: '"just a string"' });
    assert.deepEqual(seen.samples, [{ t: 5, values: { a: 1 } }]);
    assert.deepEqual(seen.alerts, [{ key: "k", state: "firing" }]);
    // Each state once: a screen reader would read a repeated one again.
    assert.deepEqual(seen.states, [
      { name: "connecting", mode: "stream", detail: "" },
      { name: "live", mode: "stream", detail: "" },
    ]);
  });

  it("passes a change of settings on, a garbled one as a change without a revision", () => {
    feed = start();
    const [source] = FakeEventSource.opened;
    source.emit("open");
    source.emit("settings", { data: '{"revision": 12}' });
    source.emit("settings", { data: "{garbled" });
    assert.deepEqual(seen.settings, [{ revision: 12 }, {}]);
    assert.deepEqual(seen.samples, [], "not a sample");
  });

  it("falls back to polling the sensor list when the app has no stream (404)", async () => {
    answers.set("/api/v1/stream", json(404, { message: "not found" }));
    answers.set("/api/v1/sensors", json(200, { sampled_at: 7, sensors: [{ id: "a", value: 2, status: "ok" }] }));
    feed = start();
    const [source] = FakeEventSource.opened;
    source.readyState = FakeEventSource.CLOSED; // what a browser does with a 404: gives up
    source.emit("error");
    await until(() => seen.samples.length === 1, "a polled sample");
    assert.deepEqual(seen.samples, [{ t: 7, values: { a: 2 }, status: {} }]);
    assert.equal(seen.sensors.length, 1, "the polled sensor list is handed over");
    assert.deepEqual(seen.states.at(-1), { name: "live", mode: "polling", detail: "" });
    assert.deepEqual(requests, ["/api/v1/stream", "/api/v1/sensors"]);
    assert.equal(FakeEventSource.opened.length, 1, "no new stream while polling");
  });

  it("says the API is offline, and why, when the stream's endpoint answers an error", async () => {
    answers.set("/api/v1/stream", json(503, { message: "sampling is stopped" }));
    feed = start();
    const [source] = FakeEventSource.opened;
    source.readyState = FakeEventSource.CLOSED;
    source.emit("error");
    await until(() => seen.states.length === 2, "a state after the probe");
    assert.deepEqual(seen.states.at(-1), { name: "offline", mode: "stream", detail: "the API answers HTTP 503" });
    assert.ok(!requests.includes("/api/v1/sensors"), "an app that has a stream is not polled");
  });

  it("shows a dropped stream that the browser retries as reconnecting, without asking why", async () => {
    feed = start();
    const [source] = FakeEventSource.opened;
    source.emit("open");
    source.emit("error"); // readyState CONNECTING: the browser reconnects by itself
    assert.equal(seen.states.at(-1).name, "reconnecting");
    await until(() => true, "a turn of the event loop");
    assert.deepEqual(requests, []);
  });
});
