// Which readings the overview and the table flag as frost (isFrost, in format.js).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isFrost } from "../src/format.js";

describe("isFrost", () => {
  const air = { kind: "temperature", source: "hwmon" };
  it("flags a temperature at or below the frost threshold", () => {
    assert.equal(isFrost(0.5, air, 0.5), true);
    assert.equal(isFrost(0.6, air, 0.5), false);
    assert.equal(isFrost(null, air, 0.5), false);
  });

  it("never flags a dew or frost point: it is not the air's temperature", () => {
    assert.equal(isFrost(-8, { kind: "temperature", source: "derived" }, 0), false);
  });
});
