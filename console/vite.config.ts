// Builds the console into console/dist, served by the gateway at /console
// (src/server/console.ts). Everything is bundled: the page loads nothing from
// another host. `npm run console:dev` serves it (reloading on change) and forwards
// /graphql (HTTP and WebSocket) to a gateway on :4000 (`npm start`).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  // JSX through Vite's own transform (Oxc), React's automatic runtime: no plugin needed to build.
  oxc: { jsx: { runtime: 'automatic', importSource: 'react' } },
  // The build runs on `npm install`: keep its output short.
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Source maps would expose nothing secret, but they double the install's output for no user.
    sourcemap: false,
    // Every asset is a file of this origin (no data: URLs to allow for scripts or styles).
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/graphql': { target: process.env.CONSOLE_GATEWAY_URL ?? 'http://127.0.0.1:4000', ws: true },
    },
  },
});
