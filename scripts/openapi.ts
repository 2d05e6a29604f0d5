// npm run openapi: writes openapi.yaml, the contract frontend teams build against, from the routes.
import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';
import { openApiDocument } from '../src/openapi-document.js';

const header = '# Generated from the route schemas by `npm run openapi`; edit the routes, not this file.\n';
await writeFile(new URL('../openapi.yaml', import.meta.url), header + stringify(await openApiDocument(), { lineWidth: 0 }));
console.log('wrote openapi.yaml');
