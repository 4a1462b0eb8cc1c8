#!/usr/bin/env node
// Runs the fake as a process (the benchmark, the demo, manual tries):
//   node dist/main.js [--port 0] [--ca-out ca.pem] [--info-out info.json]
// Prints one JSON line {url, tenantId, caPem} on stdout when ready; stops on SIGTERM/SIGINT.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startFakeGraph } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    'tenant-id': { type: 'string' },
    'ca-out': { type: 'string' },
    'info-out': { type: 'string' },
  },
});

const fake = await startFakeGraph({
  port: Number(values.port),
  host: values.host,
  tenantId: values['tenant-id'],
});
const info = { url: fake.url, tenantId: fake.tenantId, caPem: fake.caPem };
if (values['ca-out']) await writeFile(values['ca-out'], fake.caPem);
if (values['info-out']) await writeFile(values['info-out'], JSON.stringify(info));
process.stdout.write(`${JSON.stringify(info)}\n`);
const stop = () => {
  void fake.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
