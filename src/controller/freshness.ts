/**
 * Knows which cached versions of an object this process has already written over. After a reconcile patches a
 * ServiceAccountToken, the watch delivers the new version a moment later; a reconcile that runs on the old version
 * in between would redo work (and mostly end in a 409). Skipping versions we superseded, as client-go controllers do
 * with expectations, saves those round trips. Any version we did not write over (ours or someone else's newer one)
 * is acted on normally, so a lost watch event can only delay, never block, a reconcile.
 */
export class FreshnessTracker {
  readonly #superseded = new Map<string, Set<string>>();

  wrote(key: string, before: string | undefined, after: string | undefined): void {
    if (!before || before === after) return;
    let versions = this.#superseded.get(key);
    if (!versions) {
      versions = new Set();
      this.#superseded.set(key, versions);
    }
    versions.add(before);
    if (after) versions.delete(after);
  }

  /** True when `resourceVersion` is one this process wrote over: the cache has not caught up yet. */
  isStale(key: string, resourceVersion: string | undefined): boolean {
    const versions = this.#superseded.get(key);
    if (!versions) return false;
    if (resourceVersion && versions.has(resourceVersion)) return true;
    this.#superseded.delete(key); // The cache moved past every write of ours.
    return false;
  }

  forget(key: string): void {
    this.#superseded.delete(key);
  }

  get size(): number {
    return this.#superseded.size;
  }
}
