/**
 * Per-user plans: AlphaX's published limits (peer-notes.md, Conduit) and `spec`, the limits of
 * conduit-v6.md (the default, so that clients written against the spec see no change).
 *
 * | plan       | reads          | records per answer        | writes              | range > 31 days |
 * | ---------- | -------------- | ------------------------- | ------------------- | --------------- |
 * | spec       | 1 per 15 s (1) | `conduit.maxDatapoints`   | (the same window)   | answered        |
 * | standard   | 1 per 10 s     | 1000                      | 100 per second (2)  | 413             |
 * | pro        | 1 per second   | 1000                      | 100 per second (2)  | 413             |
 * | enterprise | no limit       | 100,000 (memory bound)    | no limit            | 413             |
 *
 * (1) `conduit.throttleSeconds`; every method shares the one window, as conduit-v6.md says.
 * (2) a sliding second, apart from the reads.
 * A user's own `throttleSeconds`, when set, replaces its plan's read window (spec: the one window).
 * Writes count uplinks (requests), not datapoints.
 */
import type { ConduitConfig } from './config.js';
import { Refused } from './errors.js';
import { RateWindow, Throttle } from './throttle.js';

export const PLANS = ['spec', 'standard', 'pro', 'enterprise'] as const;
export type Plan = (typeof PLANS)[number];
export const DEFAULT_PLAN: Plan = 'spec';

/** AlphaX answers 413 to a retrieval whose tcdt - fcdt is over 31 days */
export const MAX_RANGE_SECONDS = 31 * 86400;
/** enterprise has no AlphaX record limit; fieldhub still bounds one answer's memory */
export const ENTERPRISE_MAX_RECORDS = 100_000;

interface PlanLimits {
  /** seconds between reads (0: none); for `spec` the one window of every method */
  readSeconds: number;
  maxRecords: number;
  /** writes per second (null: they share the read window, `spec`; 0: no limit) */
  writesPerSecond: number | null;
  maxRangeSeconds: number | null;
}

export function planLimits(plan: Plan, config: Pick<ConduitConfig, 'throttleSeconds' | 'maxDatapoints'>): PlanLimits {
  switch (plan) {
    case 'standard':
      return { readSeconds: 10, maxRecords: 1000, writesPerSecond: 100, maxRangeSeconds: MAX_RANGE_SECONDS };
    case 'pro':
      return { readSeconds: 1, maxRecords: 1000, writesPerSecond: 100, maxRangeSeconds: MAX_RANGE_SECONDS };
    case 'enterprise':
      return {
        readSeconds: 0,
        maxRecords: ENTERPRISE_MAX_RECORDS,
        writesPerSecond: 0,
        maxRangeSeconds: MAX_RANGE_SECONDS,
      };
    default:
      return {
        readSeconds: config.throttleSeconds,
        maxRecords: config.maxDatapoints,
        writesPerSecond: null,
        maxRangeSeconds: null,
      };
  }
}

export interface LimitedUser {
  id: number;
  plan: Plan;
  /** null: the plan's read window */
  throttle_seconds: number | null;
}

/** The usage limits of every user, by plan, in memory. */
export class Limits {
  private readonly reads: Throttle;
  private readonly writes: RateWindow;

  constructor(
    private readonly config: Pick<ConduitConfig, 'throttleSeconds' | 'maxDatapoints'>,
    now: () => number = Date.now,
  ) {
    this.reads = new Throttle(now);
    this.writes = new RateWindow(now);
  }

  of(user: LimitedUser): PlanLimits {
    return planLimits(user.plan, this.config);
  }

  /** Takes the user's turn for a read or a write; throws Refused('throttled') when over its plan. */
  take(user: LimitedUser, kind: 'read' | 'write'): void {
    const l = this.of(user);
    const window = user.throttle_seconds ?? l.readSeconds;
    if (kind === 'write' && l.writesPerSecond !== null) {
      if (l.writesPerSecond === 0) return;
      const wait = this.writes.take(user.id, l.writesPerSecond);
      if (wait > 0) throw refusal(wait, `${l.writesPerSecond} writes per second (plan ${user.plan})`);
      return;
    }
    const wait = this.reads.take(user.id, window);
    if (wait > 0) throw refusal(wait, `one request every ${window} s`);
  }
}

function refusal(wait: number, what: string): Refused {
  const s = Math.max(1, Math.ceil(wait));
  return new Refused('throttled', `Too Many Requests: ${what}, retry in ${s} s`, s);
}
