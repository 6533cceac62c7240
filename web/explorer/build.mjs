// Builds the explorer into dist/: one script and one stylesheet with
// content hashes in their names, and index.html naming them. The output
// depends only on src/ and the locked packages (no time, no absolute
// paths), so .ci/run can rebuild it and compare it byte for byte with the
// committed dist/.
import * as esbuild from 'esbuild';
import { mkdir, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.join(here, 'dist');
// Files other builds put in dist/ (the receipt verifier from web/verify).
const keep = new Set(['verify.js']);

await mkdir(dist, { recursive: true });
for (const name of await readdir(dist)) {
  if (!keep.has(name)) await rm(path.join(dist, name), { recursive: true });
}

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: ['src/main.ts'],
  outdir: 'dist',
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  legalComments: 'none',
  sourcemap: false,
  metafile: true,
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.basename(p));
const js = outputs.find((n) => n.endsWith('.js'));
const css = outputs.find((n) => n.endsWith('.css'));
if (!js || !css) throw new Error(`build: expected a script and a stylesheet, got ${outputs.join(', ')}`);

const icon = 'icon.svg';
await copyFile(path.join(here, 'src', icon), path.join(dist, icon));
const page = (await readFile(path.join(here, 'src', 'index.html'), 'utf8'))
  .replaceAll('{{JS}}', `/explorer/${js}`)
  .replaceAll('{{CSS}}', `/explorer/${css}`)
  .replaceAll('{{ICON}}', `/explorer/${icon}`);
await writeFile(path.join(dist, 'index.html'), page);
console.log(`explorer: dist/index.html, dist/${js}, dist/${css}`);
