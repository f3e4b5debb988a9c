// alerts.js: reading the API's alerts, keeping the active set from the stream's changes, ordering
// and severity.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { applyChange, byFiredAt, readAlert, worseSeverity } from "../src/alerts.js";

const raw = (fields) => ({ key: "frost:garden", sensor: "w1/temp1", label: "Garden", severity: "critical",
  summary: "Garden at -1.0 °C", fired_at: 1000, rule: "frost", ...fields });

describe("readAlert", () => {
  it("keeps the page's fields and drops the rest", () => {
    assert.deepEqual(readAlert(raw({ extra: "<b>x</b>" })), {
      key: "frost:garden",
      sensor: "w1/temp1",
      label: "Garden",
      severity: "critical",
      summary: "Garden at -1.0 °C",
      fired_at: 1000,
    });
  });

  it("refuses what has no key", () => {
    for (const value of [null, undefined, "x", 3, [], {}, raw({ key: "" }), raw({ key: 7 })]) {
      assert.equal(readAlert(value), null, JSON.stringify(value));
    }
  });

  it("names an alert by its label, else its sensor, its rule, its key", () => {
    assert.equal(readAlert(raw({ label: "" })).label, "w1/temp1");
    assert.equal(readAlert(raw({ label: null, sensor: null })).label, "frost");
    assert.equal(readAlert(raw({ label: 5, sensor: "", rule: undefined })).label, "frost:garden");
  });

  it("makes a device-wide alert (no sensor) mark nothing, and shows an unknown severity as a warning", () => {
    const alert = readAlert(raw({ sensor: null, severity: "apocalyptic" }));
    assert.equal(alert.sensor, null);
    assert.equal(alert.severity, "warning");
  });

  it("keeps text as text and drops a time that is not a finite number", () => {
    const alert = readAlert(raw({ summary: { html: "<img>" }, fired_at: "1000" }));
    assert.equal(alert.summary, "");
    assert.equal(alert.fired_at, null);
    assert.equal(readAlert(raw({ fired_at: Infinity })).fired_at, null);
  });
});

describe("worseSeverity", () => {
  it("is critical if either is, else whichever is known", () => {
    assert.equal(worseSeverity("warning", "critical"), "critical");
    assert.equal(worseSeverity("critical", undefined), "critical");
    assert.equal(worseSeverity(undefined, "warning"), "warning");
    assert.equal(worseSeverity("warning", "warning"), "warning");
    assert.equal(worseSeverity(undefined, undefined), undefined);
  });
});

describe("byFiredAt", () => {
  it("lists the oldest firing first and alerts without a time last", () => {
    const alerts = [{ key: "c", fired_at: null }, { key: "b", fired_at: 300 }, { key: "a", fired_at: 100 }];
    assert.deepEqual(alerts.sort(byFiredAt).map((a) => a.key), ["a", "b", "c"]);
  });
});

describe("applyChange", () => {
  const alert = (fields) => readAlert(raw(fields));

  it("adds a firing alert and removes it when it resolves", () => {
    const active = new Map();
    assert.equal(applyChange(active, alert(), "firing"), "firing");
    assert.deepEqual([...active.keys()], ["frost:garden"]);
    assert.equal(applyChange(active, alert(), "resolved"), "resolved");
    assert.equal(active.size, 0);
  });

  it("calls new details of the same firing an update, not news", () => {
    const active = new Map([["frost:garden", alert()]]);
    assert.equal(applyChange(active, alert({ summary: "Garden at -2.0 °C" }), "firing"), "updated");
    assert.equal(active.get("frost:garden").summary, "Garden at -2.0 °C");
  });

  it("calls an alert that resolved and fired again (a newer fired_at) a new firing", () => {
    const active = new Map([["frost:garden", alert()]]);
    assert.equal(applyChange(active, alert({ fired_at: 2000 }), "firing"), "firing");
  });

  it("ignores a late change of an earlier firing", () => {
    const active = new Map([["frost:garden", alert({ fired_at: 2000 })]]);
    assert.equal(applyChange(active, alert({ fired_at: 1000 }), "resolved"), null);
    assert.equal(applyChange(active, alert({ fired_at: 1000 }), "firing"), null);
    assert.equal(active.get("frost:garden").fired_at, 2000);
  });

  it("ignores a resolution of what is not active, an unknown state and an unreadable alert", () => {
    const active = new Map();
    assert.equal(applyChange(active, alert(), "resolved"), null);
    assert.equal(applyChange(active, alert(), "pending"), null);
    assert.equal(applyChange(active, null, "firing"), null);
    assert.equal(active.size, 0);
  });
});
