/** Prometheus metrics on prom-client, one registry per app (tests build many apps in one process). */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { HttpMetrics } from './http-metrics.js';

/** Sampling resolution of the event-loop delay monitor, ms (libuv timer; the delay beyond it is measured). */
const ELD_RESOLUTION_MS = 5;

export class Metrics {
  readonly registry = new Registry();
  /** fieldhub_http_requests_total and fieldhub_http_request_duration_seconds (route, method, status) */
  readonly http = new HttpMetrics(this.registry);
  readonly jobRuns = new Counter({
    name: 'fieldhub_job_runs_total',
    help: 'Scheduled job runs by result',
    labelNames: ['job', 'result'] as const,
    registers: [this.registry],
  });
  readonly jobDuration = new Histogram({
    name: 'fieldhub_job_duration_seconds',
    help: 'Scheduled job duration',
    labelNames: ['job', 'result'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });

  /**
   * Event-loop delay since the previous scrape (the histogram restarts at every collect), from
   * perf_hooks.monitorEventLoopDelay: how long a ready callback (a device's poll) waited for
   * synchronous work (a commit, a large transaction, a parse) to give the loop back.
   */
  private readonly eld: IntervalHistogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  readonly eventLoopDelay: Gauge<'quantile'>;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'fieldhub_' });
    this.eld.enable();
    const eld = this.eld;
    this.eventLoopDelay = new Gauge({
      name: 'fieldhub_event_loop_delay_seconds',
      help: 'Event-loop delay since the previous scrape (p50, p99, max), from perf_hooks.monitorEventLoopDelay',
      labelNames: ['quantile'] as const,
      registers: [this.registry],
      collect() {
        // no sample yet (a scrape right after the previous one): report 0, not the histogram's sentinel
        const has = eld.count > 0;
        this.set({ quantile: '0.5' }, has ? eld.percentile(50) / 1e9 : 0);
        this.set({ quantile: '0.99' }, has ? eld.percentile(99) / 1e9 : 0);
        this.set({ quantile: 'max' }, has ? eld.max / 1e9 : 0);
        eld.reset();
      },
    });
  }

  /** Stops the event-loop delay monitor (the app's onClose). */
  close(): void {
    this.eld.disable();
  }

  counter<L extends string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  gauge<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    collect?: (this: Gauge<L>) => void,
  ): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry], ...(collect ? { collect } : {}) });
  }

  histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[] = [],
    buckets?: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) });
  }
}
