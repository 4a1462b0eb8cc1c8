import { registerEnumType } from 'type-graphql';
import { DIRECTORY_KINDS } from '../directory/directory.entity.js';
import { RUN_MODES, RUN_STATUSES, RUN_TRIGGERS, USER_OUTCOMES } from '../run/run.entity.js';

function enumObject<T extends string>(values: readonly T[]): { [K in T]: K } {
  return Object.fromEntries(values.map((v) => [v, v])) as { [K in T]: K };
}

export const DirectoryKindEnum = enumObject(DIRECTORY_KINDS);
export const SyncModeEnum = enumObject(RUN_MODES);
export const RunTriggerEnum = enumObject(RUN_TRIGGERS);
export const RunStatusEnum = enumObject(RUN_STATUSES);
export const SyncUserOutcomeEnum = enumObject(USER_OUTCOMES);

registerEnumType(DirectoryKindEnum, {
  name: 'DirectoryKind',
  description:
    'The kind of source. LDAP and ENTRA (Microsoft Entra ID) have connectors today; the others are reserved.',
});
registerEnumType(SyncModeEnum, {
  name: 'SyncMode',
  description:
    'FULL reads everything in scope and removes what was not seen; DELTA reads what changed since the stored cursor; USER reads one user.',
});
registerEnumType(RunTriggerEnum, { name: 'RunTrigger' });
registerEnumType(RunStatusEnum, {
  name: 'RunStatus',
  description: 'QUEUED and RUNNING are active: a directory has at most one active run.',
});
registerEnumType(SyncUserOutcomeEnum, {
  name: 'SyncUserOutcome',
  description: 'What a syncUser run did to the requested user; FAILED when the run failed.',
});
