export * from './gen/dirsync/v1/admins_pb.js';
export * from './gen/dirsync/v1/errors_pb.js';
export * from './gen/dirsync/v1/jobs_pb.js';
export * from './gen/dirsync/v1/events_pb.js';
export * from './gen/dirsync/v1/runs_pb.js';
export * from './gen/dirsync/v1/lifecycle_pb.js';
export * from './gen/dirsync/v1/connection_pb.js';
export * from './gen/dirsync/v1/liveness_pb.js';
export {
  entityToken,
  transitionToken,
  lifecycleSubject,
  lifecycleEventId,
  streamName,
  subject,
  eventMsgId,
  SYNC_VERDICT_SEQ,
  runUpdateMsgId,
  errorCodeName,
  errorCodeFromName,
  Stream,
  Subject,
} from './names.js';
export type { Namespace, StreamName } from './names.js';
export { create, toBinary, fromBinary, toJson, fromJson, clone, equals } from '@bufbuild/protobuf';
