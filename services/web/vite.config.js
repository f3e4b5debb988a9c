import { defineConfig } from "vite";
import { bundleBudget } from "./bundle-budget.js";

// In `npm run dev`, the API is proxied to a running FrostServer app (default: one started locally).
const api = process.env.FROST_API_URL || "http://127.0.0.1:5000";
const proxy = Object.fromEntries(["/api", "/metrics", "/healthz", "/sensor_reading"].map((path) => [path, api]));

export default defineConfig({
  plugins: [bundleBudget()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // Evergreen browsers all have modulepreload: the polyfill would be dead weight in the first
    // load. (A lazy chunk's own imports are still preloaded by Vite's import() helper.)
    modulePreload: { polyfill: false },
  },
  server: { proxy },
  preview: { proxy },
});
