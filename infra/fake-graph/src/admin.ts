import https from 'node:https';
import type { AppRegistration } from './auth.js';
import type { GeneratedTenant, GenerateOptions } from './generate.js';
import type { FakeSettings, FakeStats, FaultRule } from './server.js';
import type { GroupInput, UserInput } from './tenant.js';

type Json = Record<string, unknown>;

/**
 * The fake's admin API (`/_fake/…`) as a typed client: how tests and the benchmark change the
 * tenant while a connector reads it, from the same process or another one.
 */
export class FakeGraphAdmin {
  private readonly agent: https.Agent;

  constructor(
    /** The fake's base URL (`https://127.0.0.1:<port>`). */
    readonly url: string,
    /** The CA the fake's certificate is signed by. */
    caPem: string,
  ) {
    this.agent = new https.Agent({ ca: caPem, keepAlive: true });
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${this.url}/_fake${path}`,
        {
          method,
          agent: this.agent,
          headers: payload
            ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {},
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 400) {
              reject(new Error(`fake-graph admin ${method} ${path}: ${res.statusCode} ${text}`));
              return;
            }
            resolve(JSON.parse(text) as T);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  info(): Promise<{ tenantId: string; url: string; users: number; groups: number; seq: number }> {
    return this.call('GET', '/info');
  }
  /** Empty the tenant, drop faults and stats (app registrations stay). */
  reset(): Promise<void> {
    return this.call('POST', '/reset');
  }
  registerApp(app: Partial<AppRegistration>): Promise<AppRegistration> {
    return this.call('POST', '/apps', app);
  }
  addUsers(users: UserInput[]): Promise<Json[]> {
    return this.call('POST', '/users', users);
  }
  async addUser(user: UserInput): Promise<Json> {
    const [u] = await this.addUsers([user]);
    return u as Json;
  }
  /** Ids of the first `limit` users, in creation order. */
  userIds(limit = 100): Promise<string[]> {
    return this.call('GET', `/users?limit=${limit}`);
  }
  updateUser(id: string, changes: Json): Promise<Json> {
    return this.call('PATCH', `/users/${encodeURIComponent(id)}`, changes);
  }
  /** Soft delete (deleted items, `@removed: changed`) unless `hard`. */
  deleteUser(id: string, opts: { hard?: boolean } = {}): Promise<void> {
    return this.call('DELETE', `/users/${encodeURIComponent(id)}${opts.hard ? '?hard=true' : ''}`);
  }
  restoreUser(id: string): Promise<Json> {
    return this.call('POST', `/users/${encodeURIComponent(id)}/restore`);
  }
  addGroups(groups: GroupInput[]): Promise<Json[]> {
    return this.call('POST', '/groups', groups);
  }
  async addGroup(group: GroupInput): Promise<Json> {
    const [g] = await this.addGroups([group]);
    return g as Json;
  }
  updateGroup(id: string, changes: Json): Promise<Json> {
    return this.call('PATCH', `/groups/${encodeURIComponent(id)}`, changes);
  }
  deleteGroup(id: string): Promise<void> {
    return this.call('DELETE', `/groups/${encodeURIComponent(id)}?hard=true`);
  }
  addMembers(groupId: string, ids: string[]): Promise<void> {
    return this.call('POST', `/groups/${encodeURIComponent(groupId)}/members`, { ids });
  }
  removeMember(groupId: string, memberId: string): Promise<void> {
    return this.call(
      'DELETE',
      `/groups/${encodeURIComponent(groupId)}/members/${encodeURIComponent(memberId)}`,
    );
  }
  /** Serve a fault (429 with Retry-After by default) to the next matching requests. */
  addFault(rule: FaultRule): Promise<void> {
    return this.call('POST', '/faults', rule);
  }
  clearFaults(): Promise<void> {
    return this.call('DELETE', '/faults');
  }
  /** Every delta link issued so far is expired: 400 `syncStateNotFound`. */
  expireDeltaLinks(): Promise<void> {
    return this.call('POST', '/delta/expire');
  }
  /** Every delta link issued so far needs a resync: 410 Gone `resyncRequired`. */
  resetDeltaLinks(): Promise<void> {
    return this.call('POST', '/delta/reset');
  }
  /** Tokens issued so far stop working (401 `InvalidAuthenticationToken`). */
  revokeTokens(): Promise<void> {
    return this.call('POST', '/tokens/revoke');
  }
  settings(s: Partial<FakeSettings> & { tokenLifetimeSeconds?: number }): Promise<FakeSettings> {
    return this.call('PUT', '/settings', s);
  }
  stats(): Promise<FakeStats> {
    return this.call('GET', '/stats');
  }
  clearStats(): Promise<void> {
    return this.call('DELETE', '/stats');
  }
  generate(opts: GenerateOptions): Promise<GeneratedTenant> {
    return this.call('POST', '/generate', opts);
  }
  close(): void {
    this.agent.destroy();
  }
}
