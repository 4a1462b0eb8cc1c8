/**
 * Collects the keys asked for while GraphQL resolves one level of a response and loads them
 * with one query (the DataLoader idea, without the cache semantics we do not need: a loader
 * lives for one request).
 */
export interface BatchLoader<K, V> {
  load(key: K): Promise<V>;
}

export function batchLoader<K, V>(
  loadMany: (keys: K[]) => Promise<Map<K, V>>,
  fallback: (key: K) => V,
): BatchLoader<K, V> {
  let queue: { key: K; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  const cache = new Map<K, Promise<V>>();

  function dispatch(): void {
    const batch = queue;
    queue = [];
    const keys = [...new Set(batch.map((b) => b.key))];
    loadMany(keys).then(
      (found) => {
        for (const b of batch)
          b.resolve(found.has(b.key) ? (found.get(b.key) as V) : fallback(b.key));
      },
      (err: unknown) => {
        for (const b of batch) b.reject(err);
      },
    );
  }

  return {
    load(key) {
      const cached = cache.get(key);
      if (cached) return cached;
      const p = new Promise<V>((resolve, reject) => {
        queue.push({ key, resolve, reject });
        // After the current promise jobs: every sibling field has asked by then.
        if (queue.length === 1) void Promise.resolve().then(() => process.nextTick(dispatch));
      });
      cache.set(key, p);
      return p;
    },
  };
}
