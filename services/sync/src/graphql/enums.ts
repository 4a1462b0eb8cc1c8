import { registerEnumType } from 'type-graphql';
import { ADMIN_ROLES, ADMIN_ROLE_DESCRIPTION } from '@dirsync/kit';
import { CONFLICT_POLICIES, DIRECTORY_KINDS } from '../directory/directory.entity.js';
import {
  FULL_READ_REASONS,
  RUN_DECISIONS,
  RUN_MODES,
  RUN_STATUSES,
  RUN_TRIGGERS,
  USER_OUTCOMES,
} from '../run/run.entity.js';

function enumObject<T extends string>(values: readonly T[]): { [K in T]: K } {
  return Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
}

export const DirectoryKindEnum = enumObject(DIRECTORY_KINDS);
export const ConflictPolicyEnum = enumObject(CONFLICT_POLICIES);
export const SyncModeEnum = enumObject(RUN_MODES);
export const RunTriggerEnum = enumObject(RUN_TRIGGERS);
export const RunStatusEnum = enumObject(RUN_STATUSES);
export const SyncUserOutcomeEnum = enumObject(USER_OUTCOMES);
export const FullReadReasonEnum = enumObject(FULL_READ_REASONS);
export const RunDecisionEnum = enumObject(RUN_DECISIONS);
export const SyncAdminOutcomeEnum = enumObject(USER_OUTCOMES);
/** Shared with the identity subgraph (same name, same values). */
export const AdminRoleEnum = enumObject(ADMIN_ROLES);

registerEnumType(DirectoryKindEnum, {
  name: 'DirectoryKind',
  description:
    'The kind of source. LDAP and ENTRA (Microsoft Entra ID) have connectors today; the others are reserved.',
});
registerEnumType(SyncModeEnum, {
  name: 'SyncMode',
  description:
    'FULL reads everything in scope and removes what was not seen; DELTA reads what changed since the stored cursor (and removes only what the source says is gone); USER reads one user; ADMIN reads the administrators (every one, removing those not seen, or one by e-mail).',
});
registerEnumType(FullReadReasonEnum, {
  name: 'FullReadReason',
  description: 'Why a DELTA run read the whole directory (and then completed like a FULL run).',
  valuesConfig: {
    NO_CURSOR: { description: 'The directory had no stored cursor (first sync).' },
    CURSOR_REJECTED: {
      description:
        'The source no longer accepted the stored cursor (expired, restored from backup, or made for another configuration).',
    },
    DELTA_UNSUPPORTED: { description: "The directory's connector has no delta mechanism." },
  },
});
registerEnumType(ConflictPolicyEnum, {
  name: 'ConflictPolicy',
  description:
    "What a synced record does when its username is held by a user of another directory (a manual user's username is always claimed).",
  valuesConfig: {
    REPORT: {
      description:
        'The record is not imported: a per-object USERNAME_CONFLICT in the run (counted in conflicts); the other user is left alone.',
    },
    TAKE_OVER: {
      description:
        'This directory takes the user over: it moves here with the same dirsync id (counted in claimed).',
    },
  },
});
registerEnumType(RunTriggerEnum, { name: 'RunTrigger' });
registerEnumType(RunStatusEnum, {
  name: 'RunStatus',
  description: 'QUEUED and RUNNING are active: a directory has at most one active run.',
  valuesConfig: {
    BLOCKED: {
      description:
        'Everything was applied but the removals, which exceeded the deletion threshold (see removals): approveRun applies exactly those, rejectRun discards them.',
    },
    REJECTED: {
      description:
        'A blocked run whose removals were discarded: by rejectRun (decision REJECT), or because a later FULL run superseded it (supersededBy).',
    },
  },
});
registerEnumType(RunDecisionEnum, {
  name: 'RunDecision',
  description: "An operator's decision on a BLOCKED run.",
});
registerEnumType(SyncUserOutcomeEnum, {
  name: 'SyncUserOutcome',
  description: 'What a syncUser run did to the requested user; FAILED when the run failed.',
});
registerEnumType(SyncAdminOutcomeEnum, {
  name: 'SyncAdminOutcome',
  description:
    'What a syncAdmin run did to the administrator with the requested e-mail; NOT_FOUND when the e-mail is no administrator of the directory and nobody in its role groups has it (nothing changed); FAILED when the run failed.',
});
registerEnumType(AdminRoleEnum, { name: 'AdminRole', description: ADMIN_ROLE_DESCRIPTION });
