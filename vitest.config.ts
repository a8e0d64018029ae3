import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{host,guest,sdk,cli,mcp,e2e}/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 300_000,
  },
});
