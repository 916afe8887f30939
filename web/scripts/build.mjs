// Builds the client into dist/ (the bundled boot.js and app.js + the static files, the PWA icons and the
// service worker stamped with the build hash), or with --tests compiles every test/*.test.ts into
// .test-build/ for `node --test`. esbuild only strips types: tsc (npm run typecheck) checks them.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { iconPng } from './icon.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tests = process.argv.includes('--tests');

if (tests) {
  const out = join(root, '.test-build');
  rmSync(out, { recursive: true, force: true });
  const entries = readdirSync(join(root, 'test'))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(root, 'test', f));
  await build({
    entryPoints: entries,
    outdir: out,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
} else {
  const out = join(root, 'dist');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // app.js (src/main.ts) and the page's first script, boot.js (src/boot.ts: the connection's
  // first steps, from the page's head).
  await build({
    entryPoints: { app: join(root, 'src', 'main.ts'), boot: join(root, 'src', 'boot.ts') },
    outdir: out,
    bundle: true,
    format: 'iife',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  // The WebSocket transport's AudioWorklet loads as a module of its own from the page's origin.
  await build({
    entryPoints: [join(root, 'src', 'ws-audio-worklet.ts')],
    outfile: join(out, 'ws-audio-worklet.js'),
    bundle: true,
    format: 'esm',
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    logLevel: 'warning',
  });
  cpSync(join(root, 'static'), out, { recursive: true });
  for (const size of [192, 512]) writeFileSync(join(out, `icon-${size}x${size}.png`), iconPng(size));

  // One hash over everything the page loads: it names the service worker's cache and busts HTTP
  // caches through ?v= on the bundle, so an upgraded host never serves an old client.
  const files = ['index.html', 'boot.js', 'app.js', 'app.css', 'manifest.json', 'icon-192x192.png', 'icon-512x512.png'];
  const h = createHash('sha256');
  for (const f of files) h.update(readFileSync(join(out, f)));
  const hash = h.digest('hex').slice(0, 16);
  const index = join(out, 'index.html');
  writeFileSync(index, readFileSync(index, 'utf8').replace('href="app.css"', `href="app.css?v=${hash}"`).replace('src="app.js"', `src="app.js?v=${hash}"`).replace('src="boot.js"', `src="boot.js?v=${hash}"`));
  const sw = join(out, 'sw.js');
  writeFileSync(sw, readFileSync(sw, 'utf8').replace('__BUILD_HASH__', hash).replace('__APP_FILES__', JSON.stringify(files)));
  writeFileSync(join(out, 'build.json'), JSON.stringify({ hash }) + '\n');
  console.log(`built ${out} (${hash})`);
}
