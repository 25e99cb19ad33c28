// Bundles the console (src/console/ui) into dist/console/assets: app.js, app.css, index.html.
// Run by `npm run build`. No CDN, no web fonts: everything the page loads is in that folder.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../../../dist/console/assets');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: path.join(here, 'main.js'), 'app-style': path.join(here, 'style.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  outdir: out,
  legalComments: 'none',
  logLevel: 'warning',
});
// one stylesheet named app.css
renameSync(path.join(out, 'app-style.css'), path.join(out, 'app.css'));
copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'));
const size = (f) => {
  const b = readFileSync(path.join(out, f));
  return `${f} ${(b.length / 1024).toFixed(1)} KB (${(gzipSync(b).length / 1024).toFixed(1)} KB gzipped)`;
};
console.log(`console: ${size('app.js')}, ${size('app.css')}`);
