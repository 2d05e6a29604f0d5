// npm run build: transpiles src/ (TypeScript) to dist/ (JavaScript), file by file, with esbuild. The
// server runs from dist/ (npm start, the Dockerfile, the benchmark): a TypeScript loader at run time
// costs about 40 MB of resident memory (tsx runs its hooks in a thread of their own). Types are
// checked by `npm run typecheck`, not here. dist/ mirrors src/, so paths relative to a module (the
// repository root is two folders up from dist/db/) stay the same.
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const out = join(root, 'dist');

const sources = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
  .map((entry) => relative(root, join(entry.parentPath, entry.name)));

rmSync(out, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: sources,
  outdir: out,
  outbase: 'src',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
});
