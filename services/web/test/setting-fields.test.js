// pages/setting-fields.js: where a value comes from in words, numbers as typed, a sensor sheet's
// checks, and the PATCH body it sends (only what changed, null for a reset, SI units).

import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { setDisplayUnits } from "../src/format.js";
import {
  calibrationMode, checkDevice, checkRule, checkSheet, checkText, describeFields, deviceFields, devicePatch, durationText,
  numberText, parseList, parseNumber, ruleFields, rulePatch, settingOf, sheetFieldOf, sheetFields, sheetPatch, sourceWords,
} from "../src/pages/setting-fields.js";

const garden = {
  id: "w1_slave_temp-virtual-0/temp1", channel: "temp1", label: "Garden", kind: "temperature", unit: "°C",
  place: "Greenhouse", order: 2, hidden: false, calibration: null, thresholds: { min: 1, max: 35 }, revision: 7,
};

afterEach(() => setDisplayUnits("celsius"));

describe("sources and numbers", () => {
  it("says where a value comes from in words", () => {
    assert.equal(sourceWords("browser"), "set here");
    assert.equal(sourceWords("file"), "from the config file");
    assert.equal(sourceWords("default"), "default");
    assert.equal(sourceWords("something new"), "default");
  });

  it("reads a setting of the settings document, or a default one", () => {
    const entry = { label: { value: "Garden", source: "browser", file_value: "Outdoor" } };
    assert.deepEqual(settingOf(entry, "label"), { value: "Garden", source: "browser", file_value: "Outdoor" });
    assert.deepEqual(settingOf(entry, "place"), { value: null, source: "default", file_value: null });
    assert.deepEqual(settingOf(undefined, "place"), { value: null, source: "default", file_value: null });
  });

  it("reads numbers as people type them, and refuses what is no plain number", () => {
    assert.equal(parseNumber(" 0.5 "), 0.5);
    assert.equal(parseNumber("-1,25"), -1.25, "a decimal comma");
    assert.equal(parseNumber("+3"), 3);
    assert.equal(parseNumber(".5"), 0.5);
    assert.equal(parseNumber(""), null);
    assert.equal(parseNumber(null), null);
    for (const text of ["1e309", "NaN", "Infinity", "12 °C", "0x10", "1.2.3", "--1", "١٢"]) {
      assert.ok(Number.isNaN(parseNumber(text)), text);
    }
  });

  it("writes numbers for a field without float noise", () => {
    assert.equal(numberText(0.1 + 0.2), "0.3");
    assert.equal(numberText(-40), "-40");
    assert.equal(numberText(null), "");
    assert.equal(numberText(NaN), "");
  });

  it("checks names by the characters the server counts", () => {
    assert.equal(checkText("Garden", "name"), "");
    assert.equal(checkText("   ", "name"), "Enter a name.");
    assert.equal(checkText("", "place", { required: false }), "");
    assert.equal(checkText("🌱".repeat(64), "name"), "", "64 emoji are 64 characters");
    assert.match(checkText("x".repeat(65), "name"), /at most 64 characters; this one has 65/);
    assert.match(checkText("x".repeat(500), "name"), /this one has 500/);
  });
});

describe("a sensor's sheet", () => {
  it("shows a sensor's values, its limits from the sensor when nothing is set here", () => {
    assert.deepEqual(sheetFields(garden, undefined), {
      label: "Garden", place: "Greenhouse", hidden: false, mode: "none", offset: "",
      raw1: "", actual1: "", raw2: "", actual2: "", low: "1", high: "35",
    });
    assert.equal(sheetFields({ ...garden, label: null }, undefined).label, "temp1", "nobody named it: its channel");
  });

  it("shows the calibration as an offset or as the two points set", () => {
    assert.equal(calibrationMode({ ...garden, calibration: { offset: 0.5 } }), "offset");
    assert.equal(sheetFields({ ...garden, calibration: { offset: 0.5 } }).offset, "0.5");
    const entry = { calibration: { value: { raw: [0.6, 99.2], actual: [0, 100] }, source: "browser", file_value: null } };
    const fields = sheetFields({ ...garden, calibration: { gain: 1.014, offset: -0.6 } }, entry);
    assert.equal(fields.mode, "points");
    assert.deepEqual([fields.raw1, fields.actual1, fields.raw2, fields.actual2], ["0.6", "0", "99.2", "100"]);
    assert.equal(calibrationMode({ ...garden, calibration: { gain: 1.1, offset: 0 } }), "points", "a file's gain");
  });

  it("shows temperatures in fahrenheit when the device does, an offset as a difference", () => {
    setDisplayUnits("fahrenheit");
    const fields = sheetFields({ ...garden, calibration: { offset: 0.5 }, thresholds: { min: 0, max: 100 } });
    assert.deepEqual([fields.offset, fields.low, fields.high], ["0.9", "32", "212"]);
  });

  it("sends only what changed, in SI units", () => {
    const before = sheetFields(garden);
    assert.deepEqual(sheetPatch(garden, before, { ...before }), {});
    assert.deepEqual(sheetPatch(garden, before, { ...before, label: "  Greenhouse floor " }), { label: "Greenhouse floor" });
    assert.deepEqual(sheetPatch(garden, before, { ...before, place: "Shed", hidden: true }), { place: "Shed", hidden: true });
    assert.deepEqual(sheetPatch(garden, before, { ...before, mode: "offset", offset: "0.5" }), { offset: 0.5 });
    assert.deepEqual(sheetPatch(garden, before, { ...before, high: "30" }), { limits: { high: 30 } }, "low left alone");
    assert.deepEqual(sheetPatch(garden, before, { ...before, low: "" }), { limits: { low: null } }, "empty: the file's");
    assert.deepEqual(sheetPatch(garden, before, { ...before, place: "  " }), { place: null });
  });

  it("sends two reference points, and no correction as an offset of 0", () => {
    const before = sheetFields(garden);
    const points = { ...before, mode: "points", raw1: "0.6", actual1: "0", raw2: "99,2", actual2: "100" };
    assert.deepEqual(sheetPatch(garden, before, points), { calibration: { raw: [0.6, 99.2], actual: [0, 100] } });
    const calibrated = { ...garden, calibration: { offset: 0.5 } };
    const was = sheetFields(calibrated);
    assert.deepEqual(sheetPatch(calibrated, was, { ...was, mode: "none" }), { offset: 0 });
  });

  it("converts what was typed in fahrenheit back to celsius", () => {
    setDisplayUnits("fahrenheit");
    const before = sheetFields(garden);
    assert.deepEqual(sheetPatch(garden, before, { ...before, mode: "offset", offset: "0.9", high: "212" }),
      { offset: 0.5, limits: { high: 100 } });
    assert.deepEqual(sheetPatch(garden, before, { ...before, low: "33" }), { limits: { low: 0.555556 } });
  });

  it("sends null for each field reset to the config file's value", () => {
    const before = sheetFields(garden);
    const resets = new Set(["label", "calibration", "high"]);
    assert.deepEqual(sheetPatch(garden, before, { ...before, label: "Outdoor" }, resets),
      { label: null, offset: null, calibration: null, limits: { high: null } });
  });

  it("checks the fields before sending, naming the one to fix", () => {
    const good = sheetFields(garden);
    assert.deepEqual(checkSheet(good), {});
    assert.deepEqual(Object.keys(checkSheet({ ...good, label: "" })), ["label"]);
    assert.deepEqual(Object.keys(checkSheet({ ...good, label: "x".repeat(500) })), ["label"]);
    assert.deepEqual(Object.keys(checkSheet({ ...good, place: "p".repeat(65) })), ["place"]);
    assert.deepEqual(Object.keys(checkSheet({ ...good, mode: "offset", offset: "1e309" })), ["offset"]);
    assert.deepEqual(Object.keys(checkSheet({ ...good, mode: "offset", offset: "" })), ["offset"]);
    assert.deepEqual(Object.keys(checkSheet({ ...good, mode: "points", raw1: "1", actual1: "0", raw2: "", actual2: "100" })),
      ["calibration"]);
    assert.match(checkSheet({ ...good, mode: "points", raw1: "5", actual1: "0", raw2: "5,0", actual2: "100" }).calibration,
      /different readings/);
    assert.match(checkSheet({ ...good, low: "30", high: "30" }).high, /above the low limit/);
    assert.deepEqual(Object.keys(checkSheet({ ...good, low: "cold" })), ["low"]);
    assert.deepEqual(checkSheet({ ...good, low: "", high: "" }), {}, "both empty: the file's");
  });

  it("marks the field a 400 names, as the server names it", () => {
    assert.equal(sheetFieldOf("label"), "label");
    assert.equal(sheetFieldOf("limits"), "high");
    assert.equal(sheetFieldOf("limits.low"), "low");
    assert.equal(sheetFieldOf("calibration.raw"), "calibration");
    assert.equal(sheetFieldOf("offset"), "offset");
    assert.equal(sheetFieldOf("revision"), null);
    assert.equal(sheetFieldOf(undefined), null);
  });

  it("says a sensor's values in words for a 409, names as the text they are", () => {
    const hostile = { ...garden, label: "<img src=x onerror=alert(1)>", place: null, calibration: { offset: 0.5 } };
    assert.equal(describeFields(sheetFields(hostile), "°C"),
      "name “<img src=x onerror=alert(1)>”, place “Unsorted”, offset 0.5 °C, low 1 °C, high 35 °C");
  });
});

describe("the device and the alert rules", () => {
  const settings = {
    revision: 3,
    device: { name: { value: "Greenhouse Pi", source: "browser", file_value: "FrostServer" },
      units: { value: "celsius", source: "default", file_value: null } },
    frost_threshold: { value: 0.5, source: "file", file_value: 0.5 },
  };
  const frost = {
    enabled: { value: true, source: "default", file_value: null },
    kinds: { value: ["temperature"], source: "default", file_value: null },
    below: { value: "frost_threshold", source: "default", file_value: null },
    for: { value: 300, source: "default", file_value: null },
    hysteresis: { value: 0.5, source: "default", file_value: null },
    severity: { value: "critical", source: "default", file_value: null },
  };

  it("writes durations as the config file does", () => {
    assert.equal(durationText(300), "5m");
    assert.equal(durationText(5400), "1h30m");
    assert.equal(durationText(90), "1m30s");
    assert.equal(durationText(0), "0s");
    assert.equal(durationText("10m"), "10m");
    assert.equal(durationText(null), "");
  });

  it("reads lists as comma-separated text", () => {
    assert.deepEqual(parseList(" Greenhouse, ,Cellar "), ["Greenhouse", "Cellar"]);
    assert.deepEqual(parseList(""), []);
  });

  it("sends only the device settings changed, the frost threshold in °C", () => {
    const before = deviceFields(settings);
    assert.deepEqual(before, { name: "Greenhouse Pi", units: "celsius", frost_threshold: "0.5" });
    assert.deepEqual(devicePatch(before, { ...before }), {});
    assert.deepEqual(devicePatch(before, { ...before, units: "fahrenheit" }), { device: { units: "fahrenheit" } });
    assert.deepEqual(devicePatch(before, { ...before, frost_threshold: "1,5" }), { frost_threshold: 1.5 });
    assert.deepEqual(devicePatch(before, before, new Set(["name"])), { device: { name: null } });
    setDisplayUnits("fahrenheit");
    const shown = deviceFields(settings);
    assert.equal(shown.frost_threshold, "32.9");
    assert.deepEqual(devicePatch(shown, { ...shown, frost_threshold: "41" }), { frost_threshold: 5 });
  });

  it("checks the device form", () => {
    const before = deviceFields(settings);
    assert.deepEqual(checkDevice(before), {});
    assert.deepEqual(Object.keys(checkDevice({ ...before, name: "" })), ["name"]);
    assert.deepEqual(Object.keys(checkDevice({ ...before, frost_threshold: "NaN" })), ["frost_threshold"]);
  });

  it("shows a temperature rule's numbers in the display units, a limit's name as it is", () => {
    const rule = { ...frost, below: { value: -1, source: "browser", file_value: "frost_threshold" } };
    assert.deepEqual(ruleFields(frost), { enabled: true, above: "", below: "frost_threshold", for: "5m", hysteresis: "0.5",
      severity: "critical", sensors: "", places: "" });
    setDisplayUnits("fahrenheit");
    assert.equal(ruleFields(rule).below, "30.2");
    assert.equal(ruleFields(rule).hysteresis, "0.9");
    const fan = { above: { value: 3000, source: "file", file_value: 3000 }, kinds: { value: ["fan"] } };
    assert.equal(ruleFields(fan).above, "3000", "no conversion for a fan");
    // The settings document lists no kinds: the built-in temperature rules are known by name.
    const { kinds, ...unlisted } = rule;
    assert.ok(kinds);
    assert.equal(ruleFields(unlisted, "frost").below, "30.2");
    assert.equal(ruleFields(unlisted, "cellar_damp").below, "-1");
  });

  it("sends a rule's changes: numbers in SI, lists as lists, null for an emptied field or a reset", () => {
    const before = ruleFields(frost);
    assert.deepEqual(rulePatch(frost, before, { ...before }), {});
    assert.deepEqual(rulePatch(frost, before, { ...before, enabled: false }), { enabled: false });
    assert.deepEqual(rulePatch(frost, before, { ...before, below: "-2", for: "10m" }), { below: -2, for: "10m" });
    assert.deepEqual(rulePatch(frost, before, { ...before, places: "Greenhouse, Shed" }), { places: ["Greenhouse", "Shed"] });
    assert.deepEqual(rulePatch(frost, { ...before, places: "Shed" }, { ...before, places: "" }), { places: null });
    assert.deepEqual(rulePatch(frost, before, before, new Set(["for"])), { for: null });
    setDisplayUnits("fahrenheit");
    const shown = ruleFields(frost);
    assert.deepEqual(rulePatch(frost, shown, { ...shown, below: "32", hysteresis: "1.8" }), { below: 0, hysteresis: 1 });
  });

  it("checks a rule's form", () => {
    const before = ruleFields(frost);
    assert.deepEqual(checkRule(before), {});
    assert.deepEqual(Object.keys(checkRule({ ...before, below: "1e309" })), ["below"]);
    assert.deepEqual(Object.keys(checkRule({ ...before, above: "5" })), ["below"], "one condition");
    assert.deepEqual(Object.keys(checkRule({ ...before, for: "five minutes" })), ["for"]);
    assert.deepEqual(Object.keys(checkRule({ ...before, hysteresis: "-1" })), ["hysteresis"]);
    assert.deepEqual(checkRule({ ...before, for: "1h30m", below: "-0,5" }), {});
  });
});
