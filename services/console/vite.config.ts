import { defineConfig } from 'vite';

// The console is served by the gateway (GATEWAY_CONSOLE_DIR=services/console/dist) on the same
// origin as /graphql. `npm run dev -w @dirsync/console` serves it with hot reload and proxies
// /graphql to a running gateway (DIRSYNC_GATEWAY_URL, default http://127.0.0.1:4000).
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // One chunk for the app and one for the libraries: the console is an admin tool on a LAN,
    // not a site where the first paint decides anything.
    chunkSizeWarningLimit: 1000,
  },
  server: {
    proxy: {
      '/graphql':
        process.env.DIRSYNC_GATEWAY_URL?.replace(/\/graphql$/, '') ?? 'http://127.0.0.1:4000',
    },
  },
});
