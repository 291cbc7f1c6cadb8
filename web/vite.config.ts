/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Built into web/dist; FastAPI serves it (api/web.py). `npm run dev` proxies the API to make api.
export default defineConfig({
  plugins: [preact()],
  // hls.js (~180 KB gzip) is its own lazy chunk, fetched only where the browser lacks native HLS.
  build: { outDir: "dist", assetsDir: "assets", sourcemap: false, target: "es2020", chunkSizeWarningLimit: 700 },
  server: {
    proxy: {
      "/v1": "http://127.0.0.1:8000",
      "/media": "http://127.0.0.1:8000",
    },
  },
  test: { include: ["test/**/*.test.ts"], environment: "node" },
});
