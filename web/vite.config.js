// The site builds to ../build/site, which the edge serves at /. Hashed file
// names under /assets/ (cached immutable by nginx); index.html revalidated.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: '../build/site',
    emptyOutDir: true,
    target: 'es2022',
    assetsDir: 'assets',
    // No inline script or style may be emitted: the CSP forbids both.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
});
