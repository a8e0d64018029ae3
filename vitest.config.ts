import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./e2e/summary-reporter.ts"],
    projects: [
      {
        test: {
          name: "unit",
          include: ["{host,guest,sdk,cli,mcp}/**/*.test.ts"],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          globalSetup: ["e2e/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
