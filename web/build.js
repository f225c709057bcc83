// Builds the web page from web/ into dist/web/ (run by `npm run build`, after the TypeScript check
// `tsc -p web/tsconfig.json`): web/main.ts bundled with esbuild, the stylesheet, and index.html.
//
// The script and the stylesheet are named after their content (`main.<hash>.js`, `main.<hash>.js.map`,
// `main.<hash>.css`), so they can be cached for good (`immutable`, src/ui/ui-static.ts): a new build of a
// changed page gets new names, which the new index.html (revalidated at every visit) links. index.html is
// web/index.html with its `/ui/main.js` and `/ui/main.css` rewritten; manifest.json says which names are current.
'use strict';

// A CommonJS script (node runs it at build time; the tests require its naming function), so require().
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createHash } = require('node:crypto');

/** Hex digits of the content hash in an asset's name: 64 bits, no collision between two builds in practice. */
const HASH_LENGTH = 16;

/** `main.js` with content `content` → `main.<first 16 hex digits of its sha256>.js`. */
function hashedName(name, content) {
  const dot = name.indexOf('.');
  const hash = createHash('sha256').update(content).digest('hex').slice(0, HASH_LENGTH);
  return `${name.slice(0, dot)}.${hash}${name.slice(dot)}`;
}

/** The names ui-static.ts serves as immutable assets: what hashedName gives for `main.js`, `main.js.map` and `main.css`. */
const HASHED_ASSET = new RegExp(`^main\\.[0-9a-f]{${HASH_LENGTH}}\\.(js|js\\.map|css)$`);

async function main() {
  const { build } = await import('esbuild');
  const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const root = join(__dirname, '..');
  const out = join(root, 'dist', 'web');

  const bundle = await build({
    entryPoints: [join(__dirname, 'main.ts')],
    outfile: join(out, 'main.js'),
    write: false,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const output = (suffix) => bundle.outputFiles.find((f) => f.path.endsWith(suffix)).text;
  const map = output('main.js.map');
  const js0 = output('main.js');
  // One stylesheet: main.css (the page's base), then each part's own sheet in web/css/ (timeline, run,
  // lists...) in name order, so parts of the page are styled in files of their own.
  const partsDir = join(__dirname, 'css');
  const parts = existsSync(partsDir)
    ? readdirSync(partsDir)
        .filter((f) => f.endsWith('.css'))
        .sort()
    : [];
  const css = [readFileSync(join(__dirname, 'main.css'), 'utf8'), ...parts.map((f) => readFileSync(join(partsDir, f), 'utf8'))].join('\n');

  // The script's name is the hash of its code and its map (a map that changes alone must get a new name
  // too); the map is named after it, and the script's last line points to the map by that name.
  const mapComment = '//# sourceMappingURL=main.js.map\n';
  if (!js0.endsWith(mapComment)) throw new Error(`esbuild's output does not end with ${mapComment}`);
  const code = js0.slice(0, -mapComment.length);
  const names = { 'main.js': hashedName('main.js', code + map), 'main.css': hashedName('main.css', css) };
  names['main.js.map'] = `${names['main.js']}.map`;
  const js = `${code}//# sourceMappingURL=${names['main.js.map']}\n`;

  let html = readFileSync(join(__dirname, 'index.html'), 'utf8');
  for (const asset of ['main.js', 'main.css']) {
    const link = `"/ui/${asset}"`;
    if (!html.includes(link)) throw new Error(`web/index.html does not link ${link}`);
    html = html.split(link).join(`"/ui/${names[asset]}"`);
  }

  mkdirSync(out, { recursive: true });
  // Only this build's files: the names of an earlier build (and the unhashed ones of before) go.
  for (const f of readdirSync(out)) if (HASHED_ASSET.test(f) || /^main\.(js|js\.map|css)$/.test(f)) rmSync(join(out, f));
  writeFileSync(join(out, names['main.js']), js);
  writeFileSync(join(out, names['main.js.map']), map);
  writeFileSync(join(out, names['main.css']), css);
  writeFileSync(join(out, 'index.html'), html);
  writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(names, null, 2)}\n`);
}

module.exports = { hashedName, HASH_LENGTH };

if (require.main === module) {
  main().catch((e) => {
    console.error(e.message ?? e);
    process.exit(1);
  });
}
