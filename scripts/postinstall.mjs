// Runs after npm ci / npm install: generates the Prisma client offline, and (where dev dependencies
// are installed) rebuilds tap with the plugin list in package.json (tsx instead of ts-node), which
// tap otherwise does only partway through the first test run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const run = (command, args) => spawnSync(command, args, { stdio: 'inherit' }).status ?? 1;
const generated = run(process.execPath, ['scripts/prisma-generate.mjs']);
if (generated !== 0) process.exit(generated);
if (existsSync('node_modules/.bin/tap')) process.exit(run('npx', ['tap', 'build']));
