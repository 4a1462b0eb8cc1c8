import { z } from 'zod';
import { connectorEnvShape, loadEnv, optionalIntVar } from '@dirsync/kit';

/** Every variable connector-entra reads; see README.md for the table. */
export const envSchema = z.object({
  ...connectorEnvShape(4104),
  GRAPH_PAGE_SIZE: optionalIntVar(1, 999),
  GRAPH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(8),
});

export type Env = z.infer<typeof envSchema>;

/** Parse the process environment, or print every problem and exit 1. */
export function loadConnectorEnv(source: Record<string, string | undefined> = process.env): Env {
  return loadEnv('connector-entra', envSchema, source);
}
