import { BigIntType, EntitySchema } from '@mikro-orm/core';

/**
 * A message to publish on JetStream, written in the same transaction as the change it announces
 * (e.g. a directory deletion), so a broker outage delays the announcement instead of losing it.
 */
export class OutboxMessage {
  id!: number;
  subject!: string;
  msgId!: string;
  payload!: Buffer;
  createdAt!: Date;
  attempts!: number;
  lastError!: string | null;
}

export const OutboxMessageSchema = new EntitySchema<OutboxMessage>({
  class: OutboxMessage,
  tableName: 'outbox',
  properties: {
    id: { type: new BigIntType('number'), primary: true, autoincrement: true },
    subject: { type: 'text' },
    msgId: { type: 'text', fieldName: 'msg_id' },
    payload: { type: 'blob' },
    createdAt: { type: 'datetime', fieldName: 'created_at', columnType: 'timestamptz' },
    attempts: { type: 'integer' },
    lastError: { type: 'text', fieldName: 'last_error', nullable: true },
  },
});
