// The dashboard's size budget, checked by every `npm run build` (a Vite plugin, so the image build
// fails too): what a phone downloads before the first page shows stays small, and a page that only
// some people open (an admin's settings and accounts) is a dynamic import() chunk that the first
// load does not carry. services/web/README.md, "Size budget", says why these figures.

import { gzipSync } from "node:zlib";

export const KB = 1000; // as Vite prints sizes

export const BUDGET = {
  // An HTML entry's scripts, every chunk they import statically, and their stylesheets. Issue 22
  // lowered it from 90/40 KB (12/4 KB of CSS) once the places overview, without uPlot, became the
  // landing page: what a phone loads first stays about a third of what it was.
  firstLoad: { js: 40 * KB, jsGzip: 16 * KB, css: 9 * KB, cssGzip: 3 * KB },
  // One lazy chunk with what it imports that the first load does not already hold.
  lazyChunk: { js: 45 * KB, jsGzip: 20 * KB },
  // Lazy chunks with a budget of their own, by Rollup's chunk name (the module's file name).
  // "All sensors" (pages/panels.js) holds uPlot, about 50 KB alone: what the first load was before
  // issue 22 made the places overview the landing page, less the overview, and now one click away.
  namedChunks: { panels: { js: 75 * KB, jsGzip: 33 * KB } },
};

/** A file's size, minified as built and gzipped at level 9 (as Vite's report gives it). */
export function sizeOf(content) {
  const bytes = typeof content === "string" ? Buffer.from(content) : content;
  return { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

// Every JS chunk `start` pulls in through static imports, itself included.
function staticClosure(bundle, start, seen = new Set()) {
  if (seen.has(start) || bundle[start]?.type !== "chunk") return seen;
  seen.add(start);
  for (const file of bundle[start].imports) staticClosure(bundle, file, seen);
  return seen;
}

function weigh(bundle, files) {
  const total = { files: [...files], js: 0, jsGzip: 0, css: 0, cssGzip: 0 };
  for (const file of files) {
    const chunk = bundle[file];
    const js = sizeOf(chunk.code);
    total.js += js.raw;
    total.jsGzip += js.gzip;
    for (const cssFile of chunk.viteMetadata?.importedCss || []) {
      if (total.files.includes(cssFile)) continue;
      total.files.push(cssFile);
      const css = sizeOf(bundle[cssFile].source);
      total.css += css.raw;
      total.cssGzip += css.gzip;
    }
  }
  return total;
}

/**
 * Weigh a Rollup output bundle (fileName -> chunk or asset): each entry's first load, and each
 * dynamically imported chunk with what it adds to the first load of the entries that import it.
 */
export function weighBundle(bundle) {
  const chunks = Object.values(bundle).filter((item) => item.type === "chunk");
  const entries = chunks.filter((chunk) => chunk.isEntry);
  const firstLoads = entries.map((entry) => ({
    name: entry.facadeModuleId?.split("/").pop() || entry.fileName,
    ...weigh(bundle, staticClosure(bundle, entry.fileName)),
  }));
  const loaded = new Set(entries.flatMap((entry) => [...staticClosure(bundle, entry.fileName)]));
  const lazy = chunks
    .filter((chunk) => chunk.isDynamicEntry && !loaded.has(chunk.fileName))
    .map((chunk) => {
      const added = [...staticClosure(bundle, chunk.fileName)].filter((file) => !loaded.has(file));
      return { name: chunk.fileName, chunkName: chunk.name, ...weigh(bundle, added) };
    });
  return { firstLoads, lazy };
}

const kb = (bytes) => `${(bytes / KB).toFixed(1)} KB`;

/** Compare a weighed bundle with the budget: lines to print, and the problems (empty when within). */
export function checkBudget({ firstLoads, lazy }, budget = BUDGET) {
  const lines = [];
  const problems = [];
  const check = (what, size, limit, fix) => {
    if (size > limit) problems.push(`${what} is ${kb(size)}, over its budget of ${kb(limit)}: ${fix}`);
  };
  const lazyFix = "move code that only some pages need into a lazy chunk (src/lazy.js) or trim a dependency";
  for (const load of firstLoads) {
    const limits = budget.firstLoad;
    lines.push(`first load of ${load.name}: JS ${kb(load.js)} (${kb(load.jsGzip)} gzipped) of ${kb(limits.js)} ` +
      `(${kb(limits.jsGzip)}); CSS ${kb(load.css)} (${kb(load.cssGzip)}) of ${kb(limits.css)} (${kb(limits.cssGzip)})`);
    check(`the first load of ${load.name}'s JavaScript`, load.js, limits.js, lazyFix);
    check(`the first load of ${load.name}'s JavaScript, gzipped,`, load.jsGzip, limits.jsGzip, lazyFix);
    check(`the first load of ${load.name}'s CSS`, load.css, limits.css, "trim src/style.css");
    check(`the first load of ${load.name}'s CSS, gzipped,`, load.cssGzip, limits.cssGzip, "trim src/style.css");
  }
  for (const chunk of lazy) {
    const limits = budget.namedChunks?.[chunk.chunkName] || budget.lazyChunk;
    lines.push(`lazy chunk ${chunk.name}: JS ${kb(chunk.js)} (${kb(chunk.jsGzip)} gzipped) of ${kb(limits.js)} (${kb(limits.jsGzip)})`);
    const fix = "split the page, or trim what it imports";
    check(`lazy chunk ${chunk.name}`, chunk.js, limits.js, fix);
    check(`lazy chunk ${chunk.name}, gzipped,`, chunk.jsGzip, limits.jsGzip, fix);
  }
  return { lines, problems };
}

/** The Vite plugin: prints the figures after each build and fails a build that is over budget. */
export function bundleBudget(budget = BUDGET) {
  return {
    name: "frost-bundle-budget",
    apply: "build",
    enforce: "post",
    generateBundle(_options, bundle) {
      const { lines, problems } = checkBudget(weighBundle(bundle), budget);
      for (const line of lines) console.log(`bundle budget: ${line}`);
      if (problems.length) this.error(`over the size budget (bundle-budget.js):\n  ${problems.join("\n  ")}`);
    },
  };
}
