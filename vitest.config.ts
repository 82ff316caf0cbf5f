import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` starts a real etcd + kube-apiserver (built from Go
// modules by scripts/control-plane-build.sh) once per file through test/support/control-plane.ts.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Each file starts its own control plane; two cores cannot run more than one at a time well.
          fileParallelism: false,
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
