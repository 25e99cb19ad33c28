/**
 * The conduit logic, without Fastify: who a token is (and whether its plan lets it in now), the
 * datapoints a query answers, and the writes of the three ingest forms (bulk array, AlphaX uplink
 * V1/V2, V4 webhook). Every write goes to the core writer thread (writes.ts), which group-commits
 * it; a write's promise resolves after its COMMIT. Refusals are `Refused` (errors.ts).
 */
import type { Metrics } from '../../core/metrics.js';
import type { WriteRunner } from '../../core/writer.js';
import type { ConduitConfig } from './config.js';
import { Refused, refusedAgain } from './errors.js';
import { Limits } from './plans.js';
import type { MetadataUpdate } from './schemas.js';
import { serializePoints } from './serialize.js';
import type { ConduitReads } from './store.js';
import { uplinkSeries, webhookSeries, type WebhookQuery } from './uplink.js';
import type { AuthUser } from './users.js';
import type { ConduitWrites } from './writes.js';

export interface ServiceDeps {
  config: ConduitConfig;
  /** the app's writer thread, which runs writes.ts */
  writer: Pick<WriteRunner, 'run'>;
  /** the reads (store.ts): SQLite prepared statements, or the PostgreSQL pool */
  reads: ConduitReads;
  metrics: Metrics;
  /** the clock (ms): throttles, receipt time of uplinks, the default range */
  now?: () => number;
}

export interface Selection {
  ids?: string[];
  chs?: number[];
  from: number;
  to: number;
}

export interface Answer {
  /** the JSON array, or null when nothing matched */
  json: string | null;
  /** set when more matched than the plan answers: the val_date of the first datapoint left out */
  nextFcdt?: number;
}

export class ConduitService {
  readonly now: () => number;
  private readonly limits: Limits;
  private readonly ingested;
  private readonly returned;
  private readonly refused;

  constructor(private readonly d: ServiceDeps) {
    this.now = d.now ?? Date.now;
    this.limits = new Limits(d.config, this.now);
    this.ingested = d.metrics.counter(
      'fieldhub_conduit_datapoints_ingested_total',
      'Datapoints accepted by POST /conduitv6 (bulk, uplinks) and POST /conduitv4/post',
    );
    this.returned = d.metrics.counter(
      'fieldhub_conduit_datapoints_returned_total',
      'Datapoints answered by GET /conduitv6',
    );
    this.refused = d.metrics.counter(
      'fieldhub_conduit_throttled_total',
      'Requests refused by the conduit plan limits (429)',
    );
  }

  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  /** The token's user, once its switches and its plan's limits let the request in. */
  async authenticate(token: string | undefined, kind: 'read' | 'write'): Promise<AuthUser> {
    if (!token)
      throw new Refused(
        'unauthenticated',
        'missing token: send it in the X-Api-Key header (or Token header, or token argument)',
      );
    const user = await this.d.reads.byToken(token);
    if (!user) throw new Refused('unauthenticated', 'unknown token');
    if (!user.enabled) throw new Refused('forbidden', 'conduit is disabled for this user');
    if (!user.http_api) throw new Refused('forbidden', 'the HTTP API service is switched off for this user');
    try {
      this.limits.take(user, kind);
    } catch (e) {
      this.refused.inc();
      throw e;
    }
    return user;
  }

  /** GET: at most the plan's records, in order; a range over the plan's maximum is refused. */
  async read(user: AuthUser, s: Selection): Promise<Answer> {
    const limits = this.limits.of(user);
    if (limits.maxRangeSeconds !== null && s.to - s.from > limits.maxRangeSeconds) {
      throw new Refused(
        'range-too-long',
        `tcdt - fcdt is ${s.to - s.from} s; at most ${limits.maxRangeSeconds} s (31 days) per request (plan ${user.plan})`,
      );
    }
    const max = limits.maxRecords;
    const rows = await this.d.reads.points(user.id, { ...s, limit: max + 1 });
    if (rows.length === 0) return { json: null };
    let nextFcdt: number | undefined;
    if (rows.length > max) {
      nextFcdt = rows[max]![2];
      rows.length = max;
    }
    this.returned.inc(rows.length);
    const json = serializePoints(rows, await this.d.reads.metaOf(rows));
    return nextFcdt === undefined ? { json } : { json, nextFcdt };
  }

  /** A write op of writes.ts on the writer thread; resolves with its value after its COMMIT. */
  async write<K extends keyof ConduitWrites>(
    op: K,
    args: Parameters<ConduitWrites[K]>[0],
  ): Promise<ReturnType<ConduitWrites[K]>> {
    try {
      return (await this.d.writer.run<ReturnType<ConduitWrites[K]>>(op, args)).value;
    } catch (e) {
      throw refusedAgain(e);
    }
  }

  /** the bulk format: the JSON text of an array of datapoints (parsed and validated by the write: on the writer thread on SQLite, on the main thread on PostgreSQL) */
  ingest(user: AuthUser, json: string): Promise<number> {
    return this.counted(this.write('conduit.ingest', { user: user.id, json }));
  }

  /** an AlphaX uplink object (V1 or V2) */
  uplink(user: AuthUser, body: unknown): Promise<number> {
    return this.series(user, uplinkSeries(body, this.now()));
  }

  /** a Conduit V4 webhook query */
  webhook(user: AuthUser, q: WebhookQuery): Promise<number> {
    return this.series(user, webhookSeries(q, this.now()));
  }

  private series(user: AuthUser, series: ReturnType<typeof uplinkSeries>): Promise<number> {
    return this.counted(
      this.write('conduit.uplink', { user: user.id, series, autoCreate: this.d.config.autoCreateDevices }),
    );
  }

  private async counted(write: Promise<number>): Promise<number> {
    const n = await write;
    this.ingested.inc(n);
    return n;
  }

  updateMetadata(user: AuthUser, ids: string[], chs: number[] | undefined, m: MetadataUpdate): Promise<number> {
    return this.write('conduit.metadata', { user: user.id, ids, chs, m });
  }

  /** the console's tile: green / amber (no users) / red (silent devices), with the reasons */
  async health(silentMinutes: number) {
    const nowS = this.nowSeconds();
    const u = await this.d.reads.userCounts();
    const devices = await this.d.reads.devices();
    const silent = devices.filter((d) => d.last === null || d.last < nowS - silentMinutes * 60);
    const lastHour = await this.d.reads.countSince(nowS - 3600);
    const reasons: string[] = [];
    let status: 'green' | 'amber' | 'red' = 'green';
    if (silent.length) {
      status = 'red';
      const names = silent
        .slice(0, 5)
        .map((d) => d.netid)
        .join(', ');
      const more = silent.length > 5 ? ', ...' : '';
      reasons.push(`${silent.length} device(s) silent for more than ${silentMinutes} min: ${names}${more}`);
    }
    if (u.n === 0) {
      if (status === 'green') status = 'amber';
      reasons.push('no users: nothing can be ingested');
    }
    if (!reasons.length)
      reasons.push(`${devices.length} device(s) reporting; ${lastHour} datapoint(s) in the last hour`);
    return {
      module: 'conduit',
      status,
      reasons,
      counts: {
        users: u.n,
        enabledUsers: u.enabled,
        devices: devices.length,
        silent: silent.length,
        datapointsLastHour: lastHour,
        ingestPerMinute: Math.round((lastHour / 60) * 10) / 10,
      },
    };
  }

  deletePoints(user: AuthUser, ids: string[], chs: number[] | undefined, from: number, to: number): Promise<number> {
    return this.write('conduit.delete', { user: user.id, ids, chs, from, to });
  }
}
