// bundle-budget.js: which files count in the first load, which are lazy, and what fails a build.
// The bundles are built here in Rollup's output shape (fileName -> chunk or asset).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BUDGET, checkBudget, sizeOf, weighBundle } from "../bundle-budget.js";

const chunk = (fileName, code, fields = {}) => ({
  type: "chunk",
  fileName,
  code,
  imports: [],
  dynamicImports: [],
  isEntry: false,
  isDynamicEntry: false,
  viteMetadata: { importedCss: new Set() },
  ...fields,
});
const asset = (fileName, source) => ({ type: "asset", fileName, source });
const bundleOf = (...items) => Object.fromEntries(items.map((item) => [item.fileName, item]));

// A page's first load (main + shared + their CSS); settings.js, only imported with import(), is lazy,
// and brings admin-form.js that nothing in the first load imports.
function appBundle({ mainCode = "m".repeat(100), settingsCode = "s".repeat(50) } = {}) {
  return bundleOf(
    chunk("assets/index.js", mainCode, {
      isEntry: true,
      facadeModuleId: "/repo/services/web/index.html",
      imports: ["assets/shared.js"],
      dynamicImports: ["assets/settings.js"],
      viteMetadata: { importedCss: new Set(["assets/index.css"]) },
    }),
    chunk("assets/shared.js", "x".repeat(30)),
    chunk("assets/settings.js", settingsCode, {
      isDynamicEntry: true,
      imports: ["assets/shared.js", "assets/admin-form.js"],
      viteMetadata: { importedCss: new Set(["assets/settings.css"]) },
    }),
    chunk("assets/admin-form.js", "f".repeat(20)),
    asset("assets/index.css", "c".repeat(40)),
    asset("assets/settings.css", "d".repeat(10)),
    asset("index.html", "<!doctype html>"),
  );
}

describe("weighBundle", () => {
  it("counts an entry, its static imports and their CSS as the first load, and no lazy chunk", () => {
    const { firstLoads } = weighBundle(appBundle());
    assert.equal(firstLoads.length, 1);
    const [load] = firstLoads;
    assert.equal(load.name, "index.html");
    assert.deepEqual(load.files.sort(), ["assets/index.css", "assets/index.js", "assets/shared.js"]);
    assert.equal(load.js, 130);
    assert.equal(load.css, 40);
    assert.equal(load.jsGzip, sizeOf("m".repeat(100)).gzip + sizeOf("x".repeat(30)).gzip);
  });

  it("weighs a lazy chunk with what it adds to the first load, not what the first load has", () => {
    const { lazy } = weighBundle(appBundle());
    assert.equal(lazy.length, 1);
    assert.equal(lazy[0].name, "assets/settings.js");
    assert.deepEqual(lazy[0].files.sort(), ["assets/admin-form.js", "assets/settings.css", "assets/settings.js"]);
    assert.equal(lazy[0].js, 70);
  });

  it("counts a chunk that an entry also imports statically in the first load, not as lazy", () => {
    const bundle = appBundle();
    bundle["assets/index.js"].imports.push("assets/settings.js");
    const { firstLoads, lazy } = weighBundle(bundle);
    assert.deepEqual(lazy, []);
    assert.ok(firstLoads[0].files.includes("assets/admin-form.js"));
  });
});

describe("checkBudget", () => {
  it("passes today's shape of bundle and prints its figures", () => {
    const { lines, problems } = checkBudget(weighBundle(appBundle()));
    assert.deepEqual(problems, []);
    assert.match(lines[0], /^first load of index\.html: JS 0\.1 KB/);
    assert.match(lines[1], /^lazy chunk assets\/settings\.js/);
  });

  it("fails a first load over budget, naming it, the figures and the fix", () => {
    // Random text barely compresses, so this is over both the minified and the gzipped budget.
    let code = "";
    for (let i = 0; code.length < BUDGET.firstLoad.js + 1000; i++) code += Math.random().toString(36).slice(2);
    const { problems } = checkBudget(weighBundle(appBundle({ mainCode: code })));
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0], /^the first load of index\.html's JavaScript is \d+\.\d KB, over its budget of 40\.0 KB: .*lazy chunk/);
    assert.match(problems[1], /gzipped, is \d+\.\d KB, over its budget of 16\.0 KB/);
  });

  it("weighs a named chunk (All sensors, with uPlot) against its own budget", () => {
    const big = "p".repeat(BUDGET.lazyChunk.js + 1000);
    const bundle = appBundle({ settingsCode: big });
    bundle["assets/settings.js"].name = "panels";
    assert.deepEqual(checkBudget(weighBundle(bundle)).problems, []);
    bundle["assets/settings.js"].code = "p".repeat(BUDGET.namedChunks.panels.js + 1000);
    const { problems } = checkBudget(weighBundle(bundle));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /^lazy chunk assets\/settings\.js is \d+\.\d KB, over its budget of 75\.0 KB/);
  });

  it("fails a lazy chunk over its own budget without failing the first load", () => {
    const { problems } = checkBudget(weighBundle(appBundle({ settingsCode: "s".repeat(BUDGET.lazyChunk.js + 1000) })));
    assert.equal(problems.length, 1, problems.join("\n"));
    assert.match(problems[0], /^lazy chunk assets\/settings\.js is 46\.0 KB, over its budget of 45\.0 KB/);
  });
});
