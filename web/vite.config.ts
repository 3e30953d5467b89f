import { defineConfig } from "vite";

// React's automatic JSX runtime is Vite's default for .tsx; no plugin needed for a production build.
export default defineConfig({
  root: import.meta.dirname,
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8080",
      "/metrics": "http://127.0.0.1:8080",
      "/openapi.json": "http://127.0.0.1:8080",
      "/docs": "http://127.0.0.1:8080",
      "/health": "http://127.0.0.1:8080",
    },
  },
});
