import { z } from 'zod';

/** The example's environment (README table); only `main.ts` reads it. */
const shape = z.object({
  NATS_URL: z.string().min(1).default('nats://127.0.0.1:4222'),
  NATS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_-]*$/, 'letters, digits, "_" or "-"')
    .default(''),
  DEPROVISION_DURABLE: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" or "-"')
    .default('example-deprovision'),
  DEPROVISION_STATE_FILE: z.string().min(1).default('.data/deprovision-subscriber.json'),
  DEPROVISION_WEBHOOK_URL: z.url().optional(),
});

export type SubscriberEnv = z.infer<typeof shape>;

/** Parse the environment; every problem at once, then exit. */
export function loadEnv(env: NodeJS.ProcessEnv = process.env): SubscriberEnv {
  const parsed = shape.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n${lines.join('\n')}`);
  }
  return parsed.data;
}
