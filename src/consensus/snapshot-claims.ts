import type { SnapshotMeta } from './core/messages.js';

/**
 * Snapshots being written right now, by `<term>-<index>`. The store writes a snapshot to
 * `<name>.tmp` before renaming it into place, so two writers of the same snapshot (this node's
 * own, and the same one arriving from the leader) must never overlap: whoever claims it first
 * writes it, the other waits or skips.
 */
export class SnapshotClaims {
  private readonly claimed = new Set<string>();

  claim(meta: Pick<SnapshotMeta, 'index' | 'term'>): boolean {
    const key = snapshotKey(meta);
    if (this.claimed.has(key)) return false;
    this.claimed.add(key);
    return true;
  }

  release(meta: Pick<SnapshotMeta, 'index' | 'term'>): void {
    this.claimed.delete(snapshotKey(meta));
  }
}

export function snapshotKey(meta: Pick<SnapshotMeta, 'index' | 'term'>): string {
  return `${meta.term}-${meta.index}`;
}
