import type { MigrationObject } from '@mikro-orm/core';
import { Migration20260101000000_initial } from './Migration20260101000000_initial.js';

/** Every migration in order; listed explicitly so `dist/` and vitest need no file globbing. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20260101000000_initial', class: Migration20260101000000_initial },
];
