import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Operator tests each run their own Rotor against the one shared cluster: a file at a time.
    fileParallelism: false,
    pool: "forks",
    reporters: ["default"],
    projects: [
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"] } },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          globalSetup: ["test/setup/controlplane.ts"],
          setupFiles: ["test/setup/rotor-output.ts"],
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
