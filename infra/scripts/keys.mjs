// `npm run keys`: prints fresh keys as environment lines, for a first deployment.
//   --gateway  only the gateway's Ed25519 pair (DIRSYNC_GATEWAY_PRIVATE_KEY for the gateway,
//              DIRSYNC_GATEWAY_PUBLIC_KEY for auth, identity and sync)
//   --secret   only DIRSYNC_SECRET_KEY (the sync service's at-rest encryption key)
//   --help     what it does (never a key); an unknown option is an error (exit 2)
// Needs a build (`npm run build`). Keep the output secret; see docs/security.md.
import { randomBytes } from 'node:crypto';
import { generateGatewayKeyPair } from '../../services/kit/dist/auth/index.js';

const args = new Set(process.argv.slice(2));
const known = new Set(['--gateway', '--secret', '--help', '-h']);
const unknown = [...args].filter((a) => !known.has(a));
if (args.has('--help') || args.has('-h') || unknown.length > 0) {
  // Help never prints a key: a key on a terminal by mistake is a key to rotate.
  const out = unknown.length > 0 ? process.stderr : process.stdout;
  if (unknown.length > 0) out.write(`unknown option: ${unknown.join(' ')}\n\n`);
  out.write(`usage: npm run keys [-- --gateway | --secret]

Prints fresh deployment secrets as environment lines (keep the output secret; docs/security.md):
  (no option)  DIRSYNC_SECRET_KEY and the gateway's Ed25519 pair
  --secret     only DIRSYNC_SECRET_KEY (the sync service's at-rest encryption key, 32 bytes base64)
  --gateway    only DIRSYNC_GATEWAY_PRIVATE_KEY (gateway) and DIRSYNC_GATEWAY_PUBLIC_KEY
               (auth, identity, sync)

API keys are not made here: \`dirsync keys create\` (or the createApiKey mutation) issues one;
with every owner key lost, \`node services/auth/dist/cli.js issue-owner-key <name>\` (database
access) issues an owner key. Needs a build (npm run build).
`);
  process.exit(unknown.length > 0 ? 2 : 0);
}
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
