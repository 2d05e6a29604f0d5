import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { SchemaEngine } from '@prisma/schema-engine-wasm';

const require = createRequire(import.meta.url);
let bindings: Promise<typeof import('@prisma/schema-engine-wasm')> | undefined;

/**
 * Prisma's migration engine, as the WebAssembly build that ships on npm. The package's own entry
 * imports a .wasm file, which Node 20 cannot do, so the module is instantiated here by hand.
 */
function loadBindings(): Promise<typeof import('@prisma/schema-engine-wasm')> {
  bindings ??= (async () => {
    const glue = await import('@prisma/schema-engine-wasm/schema_engine_bg');
    const bytes = await readFile(join(dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')), 'schema_engine_bg.wasm'));
    const module = await WebAssembly.compile(bytes);
    const imports: Record<string, Record<string, unknown>> = {};
    for (const entry of WebAssembly.Module.imports(module)) {
      imports[entry.module] ??= {};
      imports[entry.module][entry.name] = (glue as Record<string, unknown>)[entry.name];
    }
    const instance = await WebAssembly.instantiate(module, imports as WebAssembly.Imports);
    const exports = instance.exports as Record<string, unknown> & { __wbindgen_start?: () => void };
    (glue as unknown as { __wbg_set_wasm(e: unknown): void }).__wbg_set_wasm(exports);
    exports.__wbindgen_start?.();
    return glue as unknown as typeof import('@prisma/schema-engine-wasm');
  })();
  return bindings;
}

export interface OpenEngine {
  engine: SchemaEngine;
  /** Frees the engine and closes the connections it opened (a template database must have none). */
  close(): Promise<void>;
}

export async function openSchemaEngine(
  connectionString: string,
  datamodel: { path: string; content: string },
  log: (message: string) => void = () => {},
): Promise<OpenEngine> {
  const { SchemaEngine } = await loadBindings();
  const connections: Array<{ dispose(): Promise<void> }> = [];
  const adapter = bindMigrationAwareSqlAdapterFactory(wholeScriptAdapter(new PrismaPg({ connectionString }), connections));
  const engine = await SchemaEngine.new({ datamodels: [[datamodel.path, datamodel.content]] }, log, adapter);
  return {
    engine,
    async close() {
      engine.free();
      await Promise.all(connections.map((c) => c.dispose().catch(() => {})));
    },
  };
}

type Connectable = { connect(): Promise<unknown>; connectToShadowDb(): Promise<unknown> };
type ScriptRunner = {
  executeScript(script: string): Promise<void>;
  underlyingDriver(): { query(sql: string): Promise<unknown> };
  /** PrismaPg's own: throws PostgreSQL's error as one the engine can read (else it records only "External error id#0"). */
  onError(error: unknown): never;
};

/**
 * PrismaPg runs a migration script by splitting it on every `;`, which breaks dollar-quoted function
 * bodies. The native engine sends the script whole; so do we (one simple-protocol query, which
 * PostgreSQL also runs as one implicit transaction).
 */
function wholeScriptAdapter<T extends Connectable>(factory: T, connections: Array<{ dispose(): Promise<void> }>): T {
  const patch = (adapter: unknown) => {
    connections.push(adapter as { dispose(): Promise<void> });
    const runner = adapter as ScriptRunner;
    runner.executeScript = async (script: string) => {
      try {
        await runner.underlyingDriver().query(script);
      } catch (error) {
        runner.onError(error);
      }
    };
    return adapter;
  };
  const connect = factory.connect.bind(factory);
  const connectToShadowDb = factory.connectToShadowDb.bind(factory);
  factory.connect = async () => patch(await connect());
  factory.connectToShadowDb = async () => patch(await connectToShadowDb());
  return factory;
}
