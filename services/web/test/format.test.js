// format.js: the one place that turns a sensor value into text.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  MISSING,
  columnToDisplay,
  deltaFromDisplay,
  deltaToDisplay,
  displayUnit,
  formatShown,
  fromDisplay,
  temperaturesInText,
  getDisplayUnits,
  setDisplayUnits,
  toDisplay,
  formatAgo,
  frostIn,
  formatTicks,
  formatTime,
  formatTimeTicks,
  formatValue,
  sensorName,
  shorten,
} from "../src/format.js";

const temperature = { kind: "temperature", unit: "°C" };
const voltage = { kind: "voltage", unit: "V" };
const power = { kind: "power", unit: "W" };
const fan = { kind: "fan", unit: "RPM" };

describe("formatValue", () => {
  it("gives each kind lm-sensors' decimals and its unit", () => {
    assert.equal(formatValue(45, temperature), "45.0 °C");
    assert.equal(formatValue(-0.25, temperature), "-0.3 °C");
    assert.equal(formatValue(1.2, voltage), "1.200 V");
    assert.equal(formatValue(12.06, voltage), "12.06 V"); // two decimals from 10 V up
    assert.equal(formatValue(1234.4, fan), "1234 RPM");
  });

  it("prefixes power, energy and frequency, keeping three significant digits", () => {
    assert.equal(formatValue(0.45, power), "450 mW");
    assert.equal(formatValue(35.21, power), "35.2 W");
    assert.equal(formatValue(1500, power), "1.50 kW");
    assert.equal(formatValue(1.5e9, { kind: "frequency", unit: "Hz" }), "1.50 GHz");
    assert.equal(formatValue(0, power), "0 W");
  });

  it("says a value is missing with a dash, not NaN or null", () => {
    for (const value of [null, undefined, NaN]) assert.equal(formatValue(value, temperature), MISSING);
  });

  it("shows a kind it does not know with its own unit, integers without decimals", () => {
    assert.equal(formatValue(3, { kind: "other", unit: "" }), "3");
    assert.equal(formatValue(0.1234, { kind: "other", unit: "x" }), "0.123 x");
  });
});

describe("formatTicks", () => {
  it("shares one prefix across an axis and gives the step's decimals", () => {
    assert.deepEqual(formatTicks([0, 500, 1000, 1500], "W"), ["0.0 kW", "0.5 kW", "1.0 kW", "1.5 kW"]);
    assert.deepEqual(formatTicks([40, 45, 50], "°C"), ["40 °C", "45 °C", "50 °C"]);
    assert.deepEqual(formatTicks([-0.2, 0, 0.2], "°C"), ["-0.2 °C", "0.0 °C", "0.2 °C"]);
  });

  it("gives a step of 2.5 x 10^n the decimals it needs, so no two ticks read alike", () => {
    assert.deepEqual(formatTicks([0.5, 0.75, 1], "V"), ["0.50 V", "0.75 V", "1.00 V"]);
    assert.deepEqual(formatTicks([25, 27.5, 30], "°C"), ["25.0 °C", "27.5 °C", "30.0 °C"]);
  });
});

describe("formatAgo", () => {
  const now = 1_000_000;
  it("is coarse: just now, minutes, hours and minutes, days and hours", () => {
    assert.equal(formatAgo(now - 59, now), "just now");
    assert.equal(formatAgo(now - 180, now), "3 min ago");
    assert.equal(formatAgo(now - 7500, now), "2 h 5 min ago");
    assert.equal(formatAgo(now - 7200, now), "2 h ago");
    assert.equal(formatAgo(now - 3 * 86400, now), "3 d ago");
    assert.equal(formatAgo(now - 3 * 86400 - 7200, now), "3 d 2 h ago");
  });

  it("counts a time ahead of the browser's clock as just now, and a missing one as missing", () => {
    assert.equal(formatAgo(now + 3600, now), "just now");
    assert.equal(formatAgo(null, now), MISSING);
    assert.equal(formatAgo("3", now), MISSING);
  });
});

describe("formatTime and formatTimeTicks", () => {
  // Local wall-clock time: the expected hours come from the same local clock as the code's.
  const t = Date.UTC(2026, 11, 3, 14, 5, 9) / 1000;
  const local = new Date(t * 1000);
  const two = (n) => String(n).padStart(2, "0");
  const hhmm = `${two(local.getHours())}:${two(local.getMinutes())}`;

  it("formats a unix time to the second, 24-hour, with the date only when asked", () => {
    assert.match(formatTime(t), new RegExp(`^${hhmm}:09$`));
    const withDate = formatTime(t, true);
    assert.ok(withDate.endsWith(formatTime(t)) && withDate.length > formatTime(t).length, withDate);
    assert.equal(formatTime(null), MISSING);
  });

  it("shows seconds on the time axis only when a tick needs them", () => {
    const minutes = formatTimeTicks([t - 9, t - 9 + 60]);
    assert.deepEqual(minutes.map((label) => label.split(":").length), [2, 2]);
    assert.equal(minutes[0], hhmm);
    const seconds = formatTimeTicks([t, t + 30]);
    assert.deepEqual(seconds.map((label) => label.split(":").length), [3, 3]);
  });

  it("labels ticks a day apart with their date, not a time", () => {
    const days = formatTimeTicks([t, t + 86400]);
    for (const label of days) assert.doesNotMatch(label, /:/);
    assert.notEqual(days[0], days[1]);
  });
});

describe("sensorName", () => {
  it("is the label, else the channel, else the id", () => {
    assert.equal(sensorName({ label: "Package id 0", channel: "temp1", id: "c/temp1" }), "Package id 0");
    assert.equal(sensorName({ label: "", channel: "temp1", id: "c/temp1" }), "temp1");
    assert.equal(sensorName({ id: "c/temp1" }), "c/temp1");
  });
});

describe("shorten", () => {
  it("leaves a short text alone and cuts a long one to `max` characters ending in an ellipsis", () => {
    assert.equal(shorten("Garden at -1.0 °C", 40), "Garden at -1.0 °C");
    const cut = shorten(`${"x".repeat(5000)} at -1.0 °C`, 240);
    assert.equal([...cut].length, 240);
    assert.ok(cut.endsWith("…"));
  });

  it("never splits a character made of two UTF-16 units, nor ends on a space before the ellipsis", () => {
    assert.equal(shorten("🥶".repeat(10), 4), "🥶🥶🥶…");
    assert.equal(shorten("ab cd", 4), "ab…");
  });
});

describe("frostIn", () => {
  const now = 1_700_000_000;
  it("says how long until a forecast frost, to the minute", () => {
    assert.equal(frostIn(now + 7800, now), "frost in 2 h 10 min");
    assert.equal(frostIn(now + 7200, now), "frost in 2 h");
    assert.equal(frostIn(now + 45 * 60 + 20, now), "frost in 45 min");
    assert.equal(frostIn(now + 10, now), "frost in 1 min"); // never "0 min": it is still ahead
  });

  it("says nothing without a forecast time, or once it is past", () => {
    for (const eta of [null, undefined, "3", now, now - 60]) assert.equal(frostIn(eta, now), "");
  });
});

describe("display units", () => {
  const fahrenheit = (check) => {
    setDisplayUnits("fahrenheit");
    try {
      check();
    } finally {
      setDisplayUnits("celsius");
    }
  };

  it("shows temperatures in fahrenheit when the device says so, every other kind as it is", () => {
    fahrenheit(() => {
      assert.equal(formatValue(0, temperature), "32.0 °F");
      assert.equal(formatValue(-40, temperature), "-40.0 °F");
      assert.equal(formatValue(37, temperature), "98.6 °F");
      assert.equal(formatValue(1.2, voltage), "1.200 V");
      assert.equal(formatValue(null, temperature), MISSING);
      assert.equal(displayUnit(temperature), "°F");
      assert.equal(displayUnit(fan), "RPM");
      assert.equal(formatShown(98.6, temperature), "98.6 °F", "a value already converted (a plot's)");
    });
    assert.equal(formatValue(37, temperature), "37.0 °C");
    assert.equal(displayUnit(temperature), "°C");
  });

  it("converts what a form sends back, a limit as a temperature and an offset as a difference", () => {
    fahrenheit(() => {
      assert.equal(fromDisplay(212, temperature), 100);
      assert.equal(fromDisplay(toDisplay(-12.34, temperature), temperature).toFixed(10), (-12.34).toFixed(10));
      assert.equal(deltaToDisplay(0.5, temperature), 0.9);
      assert.equal(deltaFromDisplay(0.9, temperature), 0.5);
      assert.equal(fromDisplay(5, voltage), 5);
      assert.equal(deltaToDisplay(5, voltage), 5);
    });
    assert.equal(fromDisplay(21, temperature), 21);
    assert.equal(deltaFromDisplay(0.5, temperature), 0.5);
  });

  it("converts a plot's column, keeping its gaps, and leaves it alone when nothing converts", () => {
    const column = [0, null, 100];
    fahrenheit(() => assert.deepEqual(columnToDisplay(column, temperature), [32, null, 212]));
    assert.equal(columnToDisplay(column, temperature), column);
  });

  it("says an alert's temperatures in the display units, the rest of its text as it is", () => {
    const summary = "Garden at -0.5 °C: at or below the frost threshold (0.5 °C), 3 of 4 sensors, 12 V";
    assert.equal(temperaturesInText(summary), summary);
    fahrenheit(() => {
      assert.equal(temperaturesInText(summary),
        "Garden at 31.1 °F: at or below the frost threshold (32.9 °F), 3 of 4 sensors, 12 V");
      assert.equal(temperaturesInText("at 58 °C, max 40°C"), "at 136.4 °F, max 104.0 °F");
      assert.equal(temperaturesInText("<img src=x> 10.25 °C"), "<img src=x> 50.45 °F", "text stays text");
      assert.equal(temperaturesInText(""), "");
      assert.equal(temperaturesInText(null), null);
    });
  });

  it("takes anything but fahrenheit for celsius (an older app says nothing)", () => {
    assert.equal(setDisplayUnits(undefined), "celsius");
    assert.equal(setDisplayUnits("kelvin"), "celsius");
    assert.equal(setDisplayUnits("fahrenheit"), "fahrenheit");
    assert.equal(getDisplayUnits(), "fahrenheit");
    setDisplayUnits("celsius");
  });
});
