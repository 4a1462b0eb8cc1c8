import { getOption } from '@bufbuild/protobuf';
import {
  Stream,
  Subject,
  file_dirsync_v1_names,
  stream_name,
  stream_subjects,
  subject_template,
} from './gen/dirsync/v1/names_pb.js';
import { ErrorCode, ErrorCodeSchema } from './gen/dirsync/v1/errors_pb.js';
import {
  LifecycleEntity,
  LifecycleEntitySchema,
  Transition,
  TransitionSchema,
} from './gen/dirsync/v1/lifecycle_pb.js';

/**
 * A namespace for every stream and subject of one deployment (or one test file). The empty
 * namespace gives the names written in `names.proto`; `"t42"` gives `t42_DIRSYNC_EVENTS` and
 * `t42.dirsync.events.…`, so test files sharing one NATS server never see each other's messages.
 */
export type Namespace = string;

const NAMESPACE_RE = /^[A-Za-z0-9_-]*$/;

function checkNamespace(ns: Namespace): void {
  if (!NAMESPACE_RE.test(ns)) {
    throw new Error(`invalid NATS namespace "${ns}": use letters, digits, "_" or "-"`);
  }
}

function enumValue(enumName: 'Stream' | 'Subject', num: number) {
  const desc = file_dirsync_v1_names.enums.find((e) => e.name === enumName);
  const value = desc?.values.find((v) => v.number === num);
  if (!value) throw new Error(`names.proto has no ${enumName} value ${num}`);
  return value;
}

function prefixSubject(ns: Namespace, subject: string): string {
  return ns ? `${ns}.${subject}` : subject;
}

/** The JetStream stream a deployment uses, as declared in names.proto. */
export interface StreamName {
  name: string;
  subjects: string[];
}

export function streamName(stream: Stream, ns: Namespace = ''): StreamName {
  checkNamespace(ns);
  const v = enumValue('Stream', stream);
  const name = getOption(v, stream_name);
  const subjects = getOption(v, stream_subjects);
  if (!name || subjects.length === 0) throw new Error(`stream ${v.name} lacks its options`);
  return {
    name: ns ? `${ns}_${name}` : name,
    subjects: subjects.map((s) => prefixSubject(ns, s)),
  };
}

/** A subject token must not contain NATS separators or wildcards. */
function checkToken(key: string, value: string): string {
  if (value === '' || /[\s.*>]/.test(value)) {
    throw new Error(`invalid subject token ${key}="${value}"`);
  }
  return value;
}

/**
 * Fill a subject template. Any parameter may be "*" or ">" to build a subscription filter;
 * `subject(Subject.RUNS, { run_id: '*' })`.
 */
export function subject(
  which: Subject,
  params: Record<string, string>,
  ns: Namespace = '',
): string {
  checkNamespace(ns);
  const v = enumValue('Subject', which);
  const template = getOption(v, subject_template);
  const filled = template.replace(/\{([a-z_]+)\}/g, (_m, key: string) => {
    const value = params[key];
    if (value === undefined) throw new Error(`subject ${v.name} needs "${key}"`);
    return value === '*' || value === '>' ? value : checkToken(key, value);
  });
  return prefixSubject(ns, filled);
}

/** `Nats-Msg-Id` of a DirectoryEvent: deterministic, so a re-publish is dropped by the server. */
export function eventMsgId(runId: string, seq: number): string {
  return `${runId}:${seq}`;
}

/**
 * The seq of the RunFailed the sync service publishes on DIRSYNC_EVENTS for a run it failed
 * itself (CONNECTOR_LOST): far above any connector's seq (which start at 1 and are contiguous),
 * and still a Postgres integer for identity's `applied_events`.
 */
export const SYNC_VERDICT_SEQ = 2_147_483_647;

/** `Nats-Msg-Id` of a RunUpdate. */
export function runUpdateMsgId(runId: string, seq: number): string {
  return `${runId}:u:${seq}`;
}

/** The subject token of a lifecycle entity: `LifecycleEntity.USER` → "user". */
export function entityToken(entity: LifecycleEntity): string {
  const v = LifecycleEntitySchema.values.find((x) => x.number === entity);
  if (!v || entity === LifecycleEntity.UNSPECIFIED)
    throw new Error(`no lifecycle entity ${entity}`);
  return v.name.replace(/^LIFECYCLE_ENTITY_/, '').toLowerCase();
}

/** The subject token of a transition: `Transition.PENDING_DELETION` → "pending_deletion". */
export function transitionToken(transition: Transition): string {
  const v = TransitionSchema.values.find((x) => x.number === transition);
  if (!v || transition === Transition.UNSPECIFIED) throw new Error(`no transition ${transition}`);
  return v.name.replace(/^TRANSITION_/, '').toLowerCase();
}

/**
 * The subject of a lifecycle event: `dirsync.lifecycle.user.pending_deletion`. Either part may
 * be "*" (or the transition ">") to build a subscription filter.
 */
export function lifecycleSubject(
  entity: LifecycleEntity | '*',
  transition: Transition | '*' | '>',
  ns: Namespace = '',
): string {
  return subject(
    Subject.LIFECYCLE,
    {
      entity: entity === '*' ? '*' : entityToken(entity),
      transition: typeof transition === 'string' ? transition : transitionToken(transition),
    },
    ns,
  );
}

/**
 * The `event_id` of a lifecycle event, also the `Nats-Msg-Id` of the `LifecycleEvents` message
 * it opens: `user:<id>:<version>:<transition>` for users, groups and administrators (the
 * entity's version after the transition), `run:<run id>:<transition>` for runs (no version).
 */
export function lifecycleEventId(
  entity: LifecycleEntity,
  id: string,
  transition: Transition,
  version?: number,
): string {
  const head = `${entityToken(entity)}:${id}`;
  if (entity === LifecycleEntity.RUN) return `${head}:${transitionToken(transition)}`;
  if (version === undefined || !Number.isInteger(version) || version < 1) {
    throw new Error(`a ${entityToken(entity)} event needs its version (got ${version})`);
  }
  return `${head}:${version}:${transitionToken(transition)}`;
}

/** The wire/GraphQL name of an error code: `ErrorCode.INVALID_CREDENTIALS` → "INVALID_CREDENTIALS". */
export function errorCodeName(code: ErrorCode): string {
  const v = ErrorCodeSchema.values.find((x) => x.number === code);
  return v ? v.name.replace(/^ERROR_CODE_/, '') : 'UNSPECIFIED';
}

export function errorCodeFromName(name: string): ErrorCode | undefined {
  const v = ErrorCodeSchema.values.find((x) => x.name === `ERROR_CODE_${name}`);
  return v ? (v.number as ErrorCode) : undefined;
}

export { Stream, Subject };
