import { defineConfig } from "vite";

// In `npm run dev`, the API is proxied to a running FrostServer app (default: one started locally).
const api = process.env.FROST_API_URL || "http://127.0.0.1:5000";
const proxy = Object.fromEntries(["/api", "/metrics", "/healthz", "/sensor_reading"].map((path) => [path, api]));

export default defineConfig({
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    // One entry chunk and evergreen browsers: the modulepreload polyfill would be dead weight.
    modulePreload: { polyfill: false },
  },
  server: { proxy },
  preview: { proxy },
});
