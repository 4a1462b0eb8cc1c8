// Helpers the benchmark scripts share: GraphQL through the gateway, a timed syncAll, peak RSS.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const gateway = process.env.BENCH_GATEWAY_URL;
/** The owner API key the stack created (every request is authenticated). */
const apiKey = process.env.DIRSYNC_API_KEY_FILE
  ? readFileSync(process.env.DIRSYNC_API_KEY_FILE, 'utf8').trim()
  : undefined;

export async function gql(query, variables = {}) {
  const res = await fetch(gateway, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length)
    throw new Error(`${body.errors[0].extensions?.code}: ${body.errors[0].message}`);
  return body.data;
}

export const RUN_FIELDS = `id status readMode fullReadReason errorCode errorMessage counts { seen created updated unchanged disabled errors groupsSeen membershipsAdded membershipsRemoved pendingDeletion entriesRead }`;

/** syncAll (FULL or DELTA) from the mutation to a final status; `total` is shown in the progress line. */
export async function timedSync(directoryId, label, total = '?', mode = 'FULL') {
  const t0 = performance.now();
  const { syncAll } = await gql(
    `mutation($id: ID!, $mode: SyncMode) { syncAll(directoryId: $id, mode: $mode) { ${RUN_FIELDS} } }`,
    { id: directoryId, mode },
  );
  let r = syncAll;
  let last = '';
  while (!['COMPLETED', 'FAILED', 'BLOCKED'].includes(r.status)) {
    await new Promise((res) => setTimeout(res, 100));
    r = (await gql(`query($id: ID!) { run(id: $id) { ${RUN_FIELDS} } }`, { id: r.id })).run;
    const line = `  ${label}: ${r.status} seen ${r.counts.seen}/${total}`;
    if (process.stdout.isTTY && line !== last) process.stdout.write(`\r${line}`);
    last = line;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (process.stdout.isTTY) process.stdout.write('\n');
  if (r.status !== 'COMPLETED')
    throw new Error(`${label} ended ${r.status}: ${r.errorCode} ${r.errorMessage}`);
  return { seconds, run: r };
}

/** Peak resident memory (VmHWM, MB) of each service the bench started (BENCH_PIDS). */
export function peakRss() {
  const out = {};
  for (const pair of (process.env.BENCH_PIDS ?? '').split(',').filter(Boolean)) {
    const [name, pid] = pair.split(':');
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      out[name] = Math.round(kb / 1024);
    } catch {
      out[name] = null;
    }
  }
  return out;
}
