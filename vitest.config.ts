import { defineConfig } from 'vitest/config';

// One test run over every workspace; each workspace's own vitest.config.ts applies to its files.
export default defineConfig({
  test: {
    projects: [
      'proto/vitest.config.ts',
      'services/*/vitest.config.ts',
      'infra/*/vitest.config.ts',
      'gateway/vitest.config.ts',
      'examples/*/vitest.config.ts',
    ],
    // Two cores: integration files start real servers; more workers only add contention.
    maxWorkers: 2,
  },
});
