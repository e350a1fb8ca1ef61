// Prisma 7 reads the connection URL from here, not from the schema.
// process.env (not prisma/config's env()) so that `prisma generate`, which needs no
// database, also works where DATABASE_URL is not set.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL },
});
