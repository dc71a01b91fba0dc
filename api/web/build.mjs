// Builds the console into dist/: one bundle (esbuild, with ECharts and the QR
// code library from npm) plus the page and its stylesheet. wattd serves dist/
// (--web_root). Run by tools/build-web.sh, or `npm run build` here.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';

const here = new URL('.', import.meta.url).pathname;
rmSync(`${here}dist`, { recursive: true, force: true });
mkdirSync(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.js`],
  bundle: true,
  format: 'esm',
  target: 'chrome120',
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  outfile: `${here}dist/app.js`,
  logLevel: 'warning',
});
cpSync(`${here}src/index.html`, `${here}dist/index.html`);
cpSync(`${here}src/style.css`, `${here}dist/style.css`);
