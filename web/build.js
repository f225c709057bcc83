// Builds the web page from web/ into dist/web/ (run by `npm run build`, after the TypeScript check
// `tsc -p web/tsconfig.json`): web/main.ts bundled with esbuild, plus index.html and the stylesheet.
'use strict';
const { build } = require('esbuild');
const { copyFileSync, mkdirSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const out = join(root, 'dist', 'web');

build({
  entryPoints: [join(__dirname, 'main.ts')],
  outfile: join(out, 'main.js'),
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
})
  .then(() => {
    mkdirSync(out, { recursive: true });
    copyFileSync(join(__dirname, 'index.html'), join(out, 'index.html'));
    copyFileSync(join(__dirname, 'main.css'), join(out, 'main.css'));
  })
  .catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
