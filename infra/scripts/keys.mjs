// `npm run keys`: prints fresh keys as environment lines, for a first deployment.
//   --gateway  only the gateway's Ed25519 pair (DIRSYNC_GATEWAY_PRIVATE_KEY for the gateway,
//              DIRSYNC_GATEWAY_PUBLIC_KEY for auth, identity and sync)
//   --secret   only DIRSYNC_SECRET_KEY (the sync service's at-rest encryption key)
// Needs a build (`npm run build`). Keep the output secret; see docs/security.md.
import { randomBytes } from 'node:crypto';
import { generateGatewayKeyPair } from '../../services/kit/dist/auth/index.js';

const args = new Set(process.argv.slice(2));
const all = !args.has('--gateway') && !args.has('--secret');
const lines = [];
if (all || args.has('--secret')) {
  lines.push(`DIRSYNC_SECRET_KEY=${randomBytes(32).toString('base64')}`);
}
if (all || args.has('--gateway')) {
  const pair = generateGatewayKeyPair();
  lines.push(`DIRSYNC_GATEWAY_PRIVATE_KEY=${pair.privateKey}`);
  lines.push(`DIRSYNC_GATEWAY_PUBLIC_KEY=${pair.publicKey}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
