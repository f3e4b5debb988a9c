// ESLint's flat config for the dashboard: `npm run lint` (and `make lint`) checks the page's
// modules, the service worker, the unit tests and the build's own scripts, each with the globals
// of where it runs. ESLint 9 runs on Node 18.18 and 20 alike (Debian 12's nodejs is 18).

import js from "@eslint/js";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";

export default defineConfig([
  globalIgnores(["dist/", "node_modules/"]),
  js.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2024, sourceType: "module" },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      // `x == null` is the one loose comparison we mean: null or undefined, from JSON or a Map.
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-implicit-coercion": ["error", { allow: ["!!"] }],
      // A leftover debugging line; the page reports with console.info/warn on purpose.
      "no-console": ["error", { allow: ["info", "warn", "error"] }],
      "no-unused-vars": ["error", { args: "after-used", ignoreRestSiblings: true }],
    },
  },
  {
    files: ["src/**/*.js"],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ["public/notify-worker.js"],
    languageOptions: { sourceType: "script", globals: globals.serviceworker },
  },
  {
    files: ["*.config.js", "bundle-budget.js", "test/**/*.js"],
    languageOptions: { globals: globals.node },
    rules: { "no-console": "off" }, // command-line scripts report on the console
  },
]);
