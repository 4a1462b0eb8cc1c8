/**
 * In-process wake-ups for callers waiting on a run's final update (syncUser). A wake-up is only
 * a hint to re-read the run: waiters also poll the database, because the update may be applied
 * by another replica.
 */
export class RunWaiters {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves on the next `notify(runId)` or after `ms`, whichever comes first. */
  wait(runId: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiting.get(runId) ?? new Set<() => void>();
      this.waiting.set(runId, set);
      const done = () => {
        clearTimeout(timer);
        set.delete(done);
        if (set.size === 0 && this.waiting.get(runId) === set) this.waiting.delete(runId);
        resolve();
      };
      const timer = setTimeout(done, ms);
      set.add(done);
    });
  }

  notify(runId: string): void {
    for (const wake of [...(this.waiting.get(runId) ?? [])]) wake();
  }

  /** Wake everyone (shutdown). */
  notifyAll(): void {
    for (const runId of [...this.waiting.keys()]) this.notify(runId);
  }
}
