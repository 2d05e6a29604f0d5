// Read by the Prisma CLI (generate, validate, format). Migrations are applied by src/db/migrations.ts,
// which drives Prisma's own schema engine as WebAssembly (see README: "Database and migrations").
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
