// Builds the web page from web/ into dist/web/ (run by `npm run build`, after the TypeScript check
// `tsc -p web/tsconfig.json`): web/main.ts bundled with esbuild, plus index.html and the stylesheet.
'use strict';

async function main() {
  const { build } = await import('esbuild');
  const { copyFileSync, mkdirSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = join(__dirname, '..');
  const out = join(root, 'dist', 'web');

  await build({
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
  });
  mkdirSync(out, { recursive: true });
  copyFileSync(join(__dirname, 'index.html'), join(out, 'index.html'));
  copyFileSync(join(__dirname, 'main.css'), join(out, 'main.css'));
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
