// pages/setting-fields.js for issues 23 and 24: the MQTT form (the broker's parts sent together,
// the password only when typed), the forecast form, and a pair's choices and name.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  brokerState, checkForecast, checkMqtt, forecastFields, forecastPatch, mqttFields, mqttPatch, pairChoices, pairName, placesOf,
} from "../src/pages/setting-fields.js";

const entry = (value, source = "file", file_value = value) => ({ value, source, file_value });
const settings = {
  mqtt: {
    broker: entry("mqtt://file-broker.local:1883"), enabled: entry(true, "default"), host: entry("file-broker.local"),
    port: entry(1883), tls: entry(false), username: entry("frost"), password: entry("…"),
    discovery_prefix: entry("homeassistant", "default"), min_interval: entry(10, "default"), max_interval: entry(300, "default"),
  },
  forecast: {
    enabled: entry(true, "default"), window: entry(3600, "default"), min_data: entry(900, "default"),
    lead_time: entry(7200, "browser", 10800), sensors: entry([], "default"), places: entry(["Greenhouse"], "browser", []),
  },
};

describe("the MQTT form", () => {
  it("shows the broker's fields, never a password, and says where the broker is set", () => {
    const fields = mqttFields(settings);
    assert.deepEqual(fields, { enabled: true, host: "file-broker.local", port: "1883", tls: false, username: "frost",
      discovery_prefix: "homeassistant", min_interval: "10s", max_interval: "5m" });
    assert.ok(!("password" in fields));
    assert.deepEqual(brokerState(settings), { shown: "mqtt://file-broker.local:1883", source: "file", fromEnvironment: false,
      passwordSet: true, setHere: false });
    assert.equal(brokerState({ mqtt: { broker: entry("mqtts://e:8883", "environment") } }).fromEnvironment, true);
    assert.equal(brokerState({}).shown, null);
  });

  it("sends the broker's parts together when one changes, the password only when typed", () => {
    const before = mqttFields(settings);
    assert.deepEqual(mqttPatch(before, { ...before, host: " broker.lan " }),
      { host: "broker.lan", port: 1883, tls: false, username: "frost" });
    assert.deepEqual(mqttPatch(before, { ...before, discovery_prefix: "ha" }), { discovery_prefix: "ha" });
    assert.deepEqual(mqttPatch(before, before, new Set(), "pw"), { host: "file-broker.local", port: 1883, tls: false,
      username: "frost", password: "pw" });
    assert.deepEqual(mqttPatch(before, { ...before, username: "" , host: "b" }),
      { host: "b", port: 1883, tls: false, username: null });
    assert.deepEqual(mqttPatch(before, before, new Set(["max_interval"])), { max_interval: null });
    assert.deepEqual(mqttPatch(before, before), {});
  });

  it("checks the host, the port, the prefix and the intervals before sending", () => {
    const fine = mqttFields(settings);
    assert.deepEqual(checkMqtt(fine), {});
    assert.deepEqual(Object.keys(checkMqtt({ ...fine, host: "bad host!", port: "70000", discovery_prefix: "ha/#",
      min_interval: "soon", max_interval: "" })).sort(), ["discovery_prefix", "host", "max_interval", "min_interval", "port"]);
    assert.ok(checkMqtt({ ...fine, host: "" }).host);
    assert.deepEqual(checkMqtt({ ...fine, host: "" }, { brokerRequired: false }), {});
    assert.ok(checkMqtt({ ...fine, username: "", password: "pw" }).username);
  });
});

describe("the forecast form", () => {
  it("shows durations as the config file writes them and sends what changed", () => {
    const before = forecastFields(settings);
    assert.deepEqual(before, { enabled: true, window: "1h", min_data: "15m", lead_time: "2h", sensors: "", places: "Greenhouse" });
    assert.deepEqual(forecastPatch(before, { ...before, window: "30m", places: "Greenhouse, Garden" }),
      { window: "30m", places: ["Greenhouse", "Garden"] });
    assert.deepEqual(forecastPatch(before, { ...before, enabled: false }, new Set(["lead_time"])),
      { enabled: false, lead_time: null });
    assert.deepEqual(checkForecast({ ...before, window: "an hour" }), { window: 'Enter a duration like "30m", "1h" or "3h".' });
  });
});

describe("a pair", () => {
  const sensors = [
    { id: "sht3x-i2c-1-44/temp1", kind: "temperature", label: "Air", place: "Greenhouse" },
    { id: "sht3x-i2c-1-44/humidity1", kind: "humidity", label: "Air RH", place: "Greenhouse" },
    { id: "w1-0-28-1/temp1", kind: "temperature", label: "Soil", place: null },
    { id: "derived/g/dew_point", kind: "temperature", label: "G dew point", place: "Greenhouse" },
    { id: "nct-isa-0290/fan1", kind: "fan", label: "Fan", place: "Greenhouse" },
  ];

  it("offers a place's measured temperature and humidity sensors, or all of them", () => {
    const greenhouse = pairChoices(sensors, "Greenhouse");
    assert.deepEqual(greenhouse.temperatures.map((s) => s.id), ["sht3x-i2c-1-44/temp1"]);
    assert.deepEqual(greenhouse.humidities.map((s) => s.id), ["sht3x-i2c-1-44/humidity1"]);
    assert.deepEqual(pairChoices(sensors).temperatures.map((s) => s.id), ["sht3x-i2c-1-44/temp1", "w1-0-28-1/temp1"]);
    assert.deepEqual(pairChoices(sensors, "Unsorted").temperatures.map((s) => s.id), ["w1-0-28-1/temp1"]);
    assert.deepEqual(placesOf(sensors), ["Greenhouse", "Unsorted"]);
  });

  it("is named from its label, as ids may be, and never takes a name in use", () => {
    assert.equal(pairName("Greenhouse air"), "greenhouse-air");
    assert.equal(pairName("Serre d'été <b>"), "serre-d-ete-b");
    assert.equal(pairName("Greenhouse air", ["greenhouse-air", "greenhouse-air-2"]), "greenhouse-air-3");
    assert.equal(pairName("  ♥ "), "pair");
  });
});
