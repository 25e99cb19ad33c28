/**
 * The outcome of each pull/push run per peer (memory; a restart starts empty, the received
 * payloads in the store still give each node's last post).
 */
type Outcome = { ok: boolean; error?: string };
export interface PeerState {
  peer: string;
  role: 'pulled node' | 'hub';
  lastAttemptAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  node?: string;
}

export class PeerStatus {
  readonly peers = new Map<string, PeerState>();

  record(peer: string, role: PeerState['role'], o: Outcome & { node?: string }, now = new Date()): void {
    const s = this.peers.get(peer) ?? { peer, role, lastAttemptAt: null, lastSuccessAt: null, lastError: null };
    s.lastAttemptAt = now.toISOString();
    if (o.ok) {
      s.lastSuccessAt = s.lastAttemptAt;
      s.lastError = null;
    } else s.lastError = o.error ?? 'failed';
    if (o.node) s.node = o.node;
    this.peers.set(peer, s);
  }

  recordPull(results: Array<Outcome & { url: string; node?: string }>): void {
    for (const r of results) this.record(r.url, 'pulled node', r);
  }
}
