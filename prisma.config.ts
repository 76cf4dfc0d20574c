// Prisma CLI configuration (Prisma 7 reads connection URLs from here, not from the schema).
// The running service connects through @prisma/adapter-pg (src/db/client.ts) and needs no engine.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/ridematch',
  },
});
