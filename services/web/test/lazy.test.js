// lazy.js: a page's chunk is loaded once, when first opened, and a failed load is tried again.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lazy } from "../src/lazy.js";

describe("lazy", () => {
  it("loads nothing until asked, then once however often it is asked", async () => {
    let loads = 0;
    const page = lazy(async () => {
      loads++;
      return { show: () => "shown" };
    });
    assert.equal(loads, 0);
    const [first, second] = await Promise.all([page(), page()]);
    assert.equal(loads, 1);
    assert.equal(first, second);
    assert.equal((await page()).show(), "shown");
    assert.equal(loads, 1);
  });

  it("says what failed and how to recover, and tries again on the next call", async () => {
    let loads = 0;
    const page = lazy(async () => {
      if (++loads === 1) throw new TypeError("Failed to fetch dynamically imported module");
      return { ok: true };
    }, "the settings page");
    await assert.rejects(page(), (err) => {
      assert.match(err.message, /^Could not load the settings page \(Failed to fetch .*\).*reload the page\.$/);
      assert.equal(err.cause.name, "TypeError");
      return true;
    });
    assert.deepEqual(await page(), { ok: true });
    assert.equal(loads, 2);
  });

  it("turns a loader that throws at once into a rejection, not an exception at the call", async () => {
    const page = lazy(() => {
      throw new Error("boom");
    });
    await assert.rejects(page(), /Could not load this page \(boom\)/);
  });
});
