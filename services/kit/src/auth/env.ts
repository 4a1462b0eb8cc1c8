import { z } from 'zod';
import { isGatewayKey } from './gateway-token.js';

const GENERATE = 'generate a pair with `npm run keys`';

/** Environment variables of the gateway ↔ subgraph trust, spelled the same in every service. */
export const authEnvVars = {
  /** Subgraphs: the gateway's Ed25519 public key (32 bytes, base64). */
  gatewayPublicKey: z
    .string({ error: `is required: the gateway's public key (${GENERATE})` })
    .refine((v) => isGatewayKey(v, 'public'), {
      message: `must be an Ed25519 public key, 32 bytes base64 (${GENERATE})`,
    }),
  /** Gateway: its Ed25519 private key (the 32-byte seed, base64). */
  gatewayPrivateKey: z
    .string({ error: `is required: the gateway's private key (${GENERATE})` })
    .refine((v) => isGatewayKey(v, 'private'), {
      message: `must be an Ed25519 private key, 32 bytes base64 (${GENERATE})`,
    }),
};
