/** client-go `LeaderElectionRecord`, as stored in a coordination.k8s.io/v1 Lease's spec. */
export interface LeaderElectionRecord {
  /** '' when nobody holds the lease (released). */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
}

export type Decision =
  /** No Lease object exists: create it holding it ourselves. */
  | { action: 'create' }
  /** We hold it: renew. */
  | { action: 'renew' }
  /** Nobody holds it, or the holder's record has not changed for a lease duration: take it over. */
  | { action: 'acquire'; reason: 'released' | 'expired' }
  /** Someone else holds a live lease; retry no earlier than `expiresAt` (our clock). */
  | { action: 'wait'; holder: string; expiresAt: number }
  /** We thought we led but someone else holds the lease now: stop at once. */
  | { action: 'lost'; holder: string };

export interface DecisionInput {
  /** The record read from the API server; null when the Lease does not exist. */
  record: LeaderElectionRecord | null;
  /**
   * When, on OUR clock, we last saw `record` change (holder, renewTime or transitions). Expiry is
   * judged from this, never from renewTime, so clock skew between replicas does not matter.
   */
  observedAt: number;
  now: number;
  identity: string;
  /** Whether we currently believe we lead. */
  leading: boolean;
}

/** What to do with the lease we just read (client-go `tryAcquireOrRenew`, as a pure function). */
export function decide(input: DecisionInput): Decision {
  const { record, observedAt, now, identity, leading } = input;
  if (!record) return { action: 'create' };
  if (record.holderIdentity === identity) return { action: 'renew' };
  if (record.holderIdentity === '') return { action: 'acquire', reason: 'released' };
  if (leading) return { action: 'lost', holder: record.holderIdentity };
  const expiresAt = observedAt + record.leaseDurationSeconds * 1000;
  if (expiresAt > now) return { action: 'wait', holder: record.holderIdentity, expiresAt };
  return { action: 'acquire', reason: 'expired' };
}

/** The record to write for a create / renew / acquire decision. */
export function nextRecord(
  decision: Decision,
  old: LeaderElectionRecord | null,
  identity: string,
  now: string,
  leaseDurationSeconds: number,
): LeaderElectionRecord {
  if (decision.action === 'renew' && old) {
    return { ...old, holderIdentity: identity, leaseDurationSeconds, renewTime: now };
  }
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: old ? old.leaseTransitions + 1 : 0,
  };
}

/** The record that releases a lease we hold: no holder, and a 1 s duration so others need not wait. */
export function releasedRecord(old: LeaderElectionRecord, now: string): LeaderElectionRecord {
  return {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: now,
    renewTime: now,
    leaseTransitions: old.leaseTransitions,
  };
}

/** Whether two reads of the lease differ in anything that shows the holder is alive. */
export function recordChanged(a: LeaderElectionRecord | null, b: LeaderElectionRecord | null): boolean {
  if (!a || !b) return a !== b;
  return (
    a.holderIdentity !== b.holderIdentity ||
    a.renewTime !== b.renewTime ||
    a.leaseTransitions !== b.leaseTransitions ||
    a.acquireTime !== b.acquireTime ||
    a.leaseDurationSeconds !== b.leaseDurationSeconds
  );
}

/** metav1.MicroTime format (RFC 3339 with microseconds). */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}
