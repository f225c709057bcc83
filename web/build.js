// Builds the web page from web/ into dist/web/ (run by `npm run build`, after the TypeScript check
// `tsc -p web/tsconfig.json`): web/main.ts bundled with esbuild, plus index.html and the stylesheet.
'use strict';

async function main() {
  const { build } = await import('esbuild');
  const { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } = await import('node:fs');
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
  // One stylesheet: main.css (the page's base), then each part's own sheet in web/css/ (timeline, run,
  // lists...) in name order, so parts of the page are styled in files of their own.
  const partsDir = join(__dirname, 'css');
  const parts = existsSync(partsDir)
    ? readdirSync(partsDir)
        .filter((f) => f.endsWith('.css'))
        .sort()
    : [];
  const css = [readFileSync(join(__dirname, 'main.css'), 'utf8'), ...parts.map((f) => readFileSync(join(partsDir, f), 'utf8'))];
  writeFileSync(join(out, 'main.css'), css.join('\n'));
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
