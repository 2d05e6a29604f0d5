// npm run build: transpiles src/ (TypeScript) to dist/ (JavaScript), file by file, with esbuild. The
// server runs from dist/ (npm start, the Dockerfile, the benchmark): a TypeScript loader at run time
// costs about 40 MB of resident memory (tsx runs its hooks in a thread of their own). Types are
// checked by `npm run typecheck`, not here. dist/ mirrors src/, so paths relative to a module (the
// repository root is two folders up from dist/db/) stay the same.
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const out = join(root, 'dist');

const sources = readdirSync(src, { recursive: true, withFileTypes: true })
  .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts'))
  .map((entry) => relative(root, join(entry.parentPath, entry.name)));

// Prisma's generated client loads its query compiler (WebAssembly) from a module that holds it as a
// base64 string: that module's source and the string stay in the heap for good, about 9 MB of a
// live heap of about 40 under load. The built client reads the binary from a file next to it instead.
const CLIENT = 'src/generated/prisma/internal/class.ts';
const WASM_BASE64 = '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs';
const WASM_FILE = 'query_compiler_fast_bg.postgresql.wasm';
const LOAD_FROM_BASE64 = `const { wasm } = await import("${WASM_BASE64}")
    return await decodeBase64AsWasm(wasm)`;
const LOAD_FROM_FILE = `const { readFile } = await import('node:fs/promises')
    return new WebAssembly.Module(await readFile(new URL('./${WASM_FILE}', import.meta.url)))`;
const wasmFromFile = {
  name: 'prisma-wasm-from-file',
  setup(build) {
    build.onLoad({ filter: /generated[\\/]prisma[\\/]internal[\\/]class\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      // A Prisma that generates this differently fails the build here, rather than keeping the string unseen.
      if (!source.includes(LOAD_FROM_BASE64)) throw new Error(`${CLIENT} no longer loads its query compiler as expected: update scripts/build.mjs`);
      return { contents: source.replace(LOAD_FROM_BASE64, LOAD_FROM_FILE), loader: 'ts' };
    });
  },
};

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
  plugins: [wasmFromFile],
});
const { wasm } = await import(WASM_BASE64);
writeFileSync(join(out, 'generated/prisma/internal', WASM_FILE), Buffer.from(wasm, 'base64'));
