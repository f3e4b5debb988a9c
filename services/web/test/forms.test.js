// forms.js: the checks the sign-in, claim and accounts forms make before sending, and the 429's words.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkCode,
  checkName,
  checkNewPassword,
  normalizeCode,
  retryAfterSeconds,
  tooManyAttempts,
} from "../src/forms.js";

describe("setup codes", () => {
  it("takes the code as printed, pasted without dashes, in lower case or with spaces", () => {
    for (const typed of ["ABCD-EFGH-2345", "abcdefgh2345", " abcd efgh 2345 ", "ABCD–EFGH‐2345", "abcd-efgh-2345\n"]) {
      assert.equal(normalizeCode(typed), "ABCD-EFGH-2345", typed);
      assert.equal(checkCode(typed), "", typed);
    }
  });

  it("says what is wrong with a code that cannot be one", () => {
    assert.match(checkCode(""), /^Enter the setup code/);
    assert.match(checkCode("ABCD-EFGH-234"), /12 letters and digits .*this one has 11\.$/);
    assert.match(checkCode("ABCD-EFGH-23456"), /this one has 13\.$/);
    assert.match(checkCode("ABCD-EFGH-23<5"), /only letters and digits/);
    assert.equal(normalizeCode("abcd-efgh-23"), "ABCDEFGH23", "not grouped when it is not a code");
  });
});

describe("names and passwords", () => {
  it("accepts the names the server accepts", () => {
    for (const name of ["ada", "A.d_a-1", "x".repeat(64)]) assert.equal(checkName(name), "", name);
  });

  it("refuses empty, long and odd names, saying what a name is", () => {
    assert.equal(checkName(""), "Enter a user name.");
    for (const name of ["x".repeat(65), "ada lovelace", "<b>ada</b>", "ädä", "ada/"]) {
      assert.match(checkName(name), /1 to 64 letters, digits, dots, dashes or underscores/, name);
    }
  });

  it("wants 8 to 1024 characters, counted as the server counts them, typed twice alike", () => {
    assert.equal(checkNewPassword("12345678", "12345678"), "");
    assert.match(checkNewPassword("1234567", "1234567"), /at least 8/);
    assert.equal(checkNewPassword("🔑🔑🔑🔑🔑🔑🔑🔑", "🔑🔑🔑🔑🔑🔑🔑🔑"), "", "8 emoji are 8 characters");
    assert.match(checkNewPassword("🔑🔑🔑🔑", "🔑🔑🔑🔑"), /at least 8/, "not 8 UTF-16 units");
    assert.equal(checkNewPassword("x".repeat(1024), "x".repeat(1024)), "");
    assert.match(checkNewPassword("x".repeat(1025), "x".repeat(1025)), /at most 1024/);
    assert.equal(checkNewPassword("correct horse", "correct hose"), "The two passwords differ: type the same one twice.");
  });
});

describe("Retry-After", () => {
  const now = Date.parse("2026-01-02T03:04:05Z");

  it("reads seconds and HTTP dates, never less than a second", () => {
    assert.equal(retryAfterSeconds("30", now), 30);
    assert.equal(retryAfterSeconds(" 0 ", now), 1);
    assert.equal(retryAfterSeconds("Fri, 02 Jan 2026 03:05:05 GMT", now), 60);
    assert.equal(retryAfterSeconds("Fri, 02 Jan 2026 03:00:00 GMT", now), 1, "a date in the past: now");
    for (const odd of [null, undefined, "", "soon", "-5", "1.5"]) assert.equal(retryAfterSeconds(odd, now), null, String(odd));
  });

  it("says how long to wait, in seconds, in minutes when long", () => {
    assert.equal(tooManyAttempts("30"), "Too many attempts, try again in 30\u00a0s.");
    assert.equal(tooManyAttempts("119"), "Too many attempts, try again in 119\u00a0s.");
    assert.equal(tooManyAttempts("121"), "Too many attempts, try again in 3\u00a0min.");
    assert.equal(tooManyAttempts(null), "Too many attempts, try again in a few minutes.");
  });
});
