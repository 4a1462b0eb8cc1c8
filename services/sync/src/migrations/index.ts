import type { MigrationObject } from '@mikro-orm/core';
import { Migration20251203000000_initial } from './Migration20251203000000_initial.js';
import { Migration20251215000000_delta } from './Migration20251215000000_delta.js';
import { Migration20251216000000_admins_leases } from './Migration20251216000000_admins_leases.js';
import { Migration20251217000000_delta_schedule } from './Migration20251217000000_delta_schedule.js';
import { Migration20251218000000_user_lifecycle } from './Migration20251218000000_user_lifecycle.js';
import { Migration20261204071000_safety } from './Migration20261204071000_safety.js';
import { Migration20261204082000_dry_run } from './Migration20261204082000_dry_run.js';
import { Migration20261204100000_liveness } from './Migration20261204100000_liveness.js';
import { Migration20261204130000_connectors } from './Migration20261204130000_connectors.js';
import { Migration20261204170000_scope_changed } from './Migration20261204170000_scope_changed.js';

/** Every migration in order; listed explicitly so `dist/` and vitest need no file globbing. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20251203000000_initial', class: Migration20251203000000_initial },
  { name: 'Migration20251215000000_delta', class: Migration20251215000000_delta },
  { name: 'Migration20251216000000_admins_leases', class: Migration20251216000000_admins_leases },
  { name: 'Migration20251217000000_delta_schedule', class: Migration20251217000000_delta_schedule },
  { name: 'Migration20251218000000_user_lifecycle', class: Migration20251218000000_user_lifecycle },
  { name: 'Migration20261204071000_safety', class: Migration20261204071000_safety },
  { name: 'Migration20261204082000_dry_run', class: Migration20261204082000_dry_run },
  { name: 'Migration20261204100000_liveness', class: Migration20261204100000_liveness },
  { name: 'Migration20261204130000_connectors', class: Migration20261204130000_connectors },
  { name: 'Migration20261204170000_scope_changed', class: Migration20261204170000_scope_changed },
];
