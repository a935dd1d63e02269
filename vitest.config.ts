import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // the PostgreSQL the store tests use: DATABASE_URL, else 127.0.0.1:5432, else a throwaway embedded one
    globalSetup: ["test/support/pg-global.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // e2e tests spawn the real daemon; on a loaded 2-core machine they must not fight each other
    fileParallelism: true,
    maxWorkers: 2,
  },
});
