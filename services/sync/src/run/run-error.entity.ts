import { BigIntType, EntitySchema } from '@mikro-orm/core';

/** One per-object error of a run, keyed by the RunUpdate that carried it so re-applies are no-ops. */
export class RunError {
  runId!: string;
  updateSeq!: number;
  idx!: number;
  externalId!: string;
  sourceLocator!: string;
  code!: string;
  message!: string;
}

export const RunErrorSchema = new EntitySchema<RunError>({
  class: RunError,
  tableName: 'run_errors',
  properties: {
    runId: { type: 'uuid', fieldName: 'run_id', primary: true },
    updateSeq: { type: new BigIntType('number'), fieldName: 'update_seq', primary: true },
    idx: { type: 'integer', primary: true },
    externalId: { type: 'text', fieldName: 'external_id' },
    sourceLocator: { type: 'text', fieldName: 'source_locator' },
    code: { type: 'text' },
    message: { type: 'text' },
  },
});
