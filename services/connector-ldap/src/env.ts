import { z } from 'zod';
import { connectorEnvShape, loadEnv, optionalIntVar } from '@dirsync/kit';

/** Every variable connector-ldap reads; see README.md for the table. */
export const envSchema = z.object({
  ...connectorEnvShape(4103),
  LDAP_PAGE_SIZE: optionalIntVar(1, 10_000),
});

export type Env = z.infer<typeof envSchema>;

/** Parse the process environment, or print every problem and exit 1. */
export function loadConnectorEnv(source: Record<string, string | undefined> = process.env): Env {
  return loadEnv('connector-ldap', envSchema, source);
}
