import type { MigrationObject } from '@mikro-orm/core';
import { Migration20251203000000 } from './Migration20251203000000.js';
import { Migration20261204100000_admin_safety } from './Migration20261204100000_admin_safety.js';
import { Migration20251215000000_delta } from './Migration20251215000000_delta.js';
import { Migration20251217000000_admins } from './Migration20251217000000_admins.js';
import { Migration20251218000000_user_lifecycle } from './Migration20251218000000_user_lifecycle.js';
import { Migration20261204063000_lifecycle } from './Migration20261204063000_lifecycle.js';
import { Migration20261204070000_safety } from './Migration20261204070000_safety.js';
import { Migration20261204080000_run_history } from './Migration20261204080000_run_history.js';
import { Migration20261204083000_unique_names } from './Migration20261204083000_unique_names.js';
import { Migration20261204084000_dry_run } from './Migration20261204084000_dry_run.js';
import { Migration20261204085000_deleted_directory } from './Migration20261204085000_deleted_directory.js';
import { Migration20261204091500_admin_history } from './Migration20261204091500_admin_history.js';
import { Migration20261204103000_casefold_admin_emails } from './Migration20261204103000_casefold_admin_emails.js';
import { Migration20261204093000_casefold_names } from './Migration20261204093000_casefold_names.js';

/** Every migration, in order. Listed explicitly so the same list runs from src (tests) and dist. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20251203000000', class: Migration20251203000000 },
  { name: 'Migration20251215000000_delta', class: Migration20251215000000_delta },
  { name: 'Migration20251217000000_admins', class: Migration20251217000000_admins },
  {
    name: 'Migration20251218000000_user_lifecycle',
    class: Migration20251218000000_user_lifecycle,
  },
  { name: 'Migration20261204063000_lifecycle', class: Migration20261204063000_lifecycle },
  { name: 'Migration20261204070000_safety', class: Migration20261204070000_safety },
  { name: 'Migration20261204080000_run_history', class: Migration20261204080000_run_history },
  { name: 'Migration20261204083000_unique_names', class: Migration20261204083000_unique_names },
  { name: 'Migration20261204084000_dry_run', class: Migration20261204084000_dry_run },
  {
    name: 'Migration20261204085000_deleted_directory',
    class: Migration20261204085000_deleted_directory,
  },
  { name: 'Migration20261204100000_admin_safety', class: Migration20261204100000_admin_safety },
  { name: 'Migration20261204091500_admin_history', class: Migration20261204091500_admin_history },
  { name: 'Migration20261204093000_casefold_names', class: Migration20261204093000_casefold_names },
  {
    name: 'Migration20261204103000_casefold_admin_emails',
    class: Migration20261204103000_casefold_admin_emails,
  },
];
