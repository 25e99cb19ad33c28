/**
 * Per-route HTTP metrics with the hot path kept to one Map lookup and a few additions per request:
 * `fieldhub_http_requests_total` (counter) and `fieldhub_http_request_duration_seconds` (histogram),
 * labelled method, route, status, exactly as prom-client's Counter and Histogram print them. They are
 * registered as collectors (prom-client calls `get()` at scrape time), so a request no longer pays for
 * prom-client's label validation and label hashing twice (measured: see docs/performance.md).
 */
import type { Registry } from 'prom-client';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

interface Series {
  labels: { method: string; route: string; status: string };
  count: number;
  sum: number;
  /** per-bucket (not cumulative) counts; index BUCKETS.length is +Inf */
  buckets: number[];
}

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

export class HttpMetrics {
  private readonly series = new Map<string, Series>();

  constructor(registry: Registry) {
    const series = this.series;
    // the shape prom-client's Registry formats: name, help, type, values (and aggregator for clusters)
    registry.registerMetric({
      name: 'fieldhub_http_requests_total',
      help: 'HTTP requests by route, method and status',
      type: 'counter',
      aggregator: 'sum',
      get: () =>
        Promise.resolve({
          name: 'fieldhub_http_requests_total',
          help: 'HTTP requests by route, method and status',
          type: 'counter',
          aggregator: 'sum',
          values: [...series.values()].map((s): MetricValue => ({ value: s.count, labels: s.labels })),
        }),
    } as never);
    registry.registerMetric({
      name: 'fieldhub_http_request_duration_seconds',
      help: 'HTTP request latency by route, method and status',
      type: 'histogram',
      aggregator: 'sum',
      get: () =>
        Promise.resolve({
          name: 'fieldhub_http_request_duration_seconds',
          help: 'HTTP request latency by route, method and status',
          type: 'histogram',
          aggregator: 'sum',
          values: [...series.values()].flatMap(histogramValues),
        }),
    } as never);
  }

  /** One answered request. `seconds` is the reply's elapsed time. */
  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { method, route, status: String(status) },
        count: 0,
        sum: 0,
        buckets: new Array<number>(BUCKETS.length + 1).fill(0),
      };
      this.series.set(key, s);
    }
    s.count++;
    s.sum += seconds;
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]!) i++;
    s.buckets[i]!++;
  }

  /** Requests counted so far with these labels (tests, the console). */
  count(method: string, route: string, status: number): number {
    return this.series.get(`${method} ${status} ${route}`)?.count ?? 0;
  }
}

function histogramValues(s: Series): MetricValue[] {
  const out: MetricValue[] = [];
  let cumulative = 0;
  BUCKETS.forEach((le, i) => {
    cumulative += s.buckets[i]!;
    out.push({
      value: cumulative,
      labels: { le, ...s.labels },
      metricName: 'fieldhub_http_request_duration_seconds_bucket',
    });
  });
  cumulative += s.buckets[BUCKETS.length]!;
  out.push({
    value: cumulative,
    labels: { le: '+Inf', ...s.labels },
    metricName: 'fieldhub_http_request_duration_seconds_bucket',
  });
  out.push({ value: s.sum, labels: s.labels, metricName: 'fieldhub_http_request_duration_seconds_sum' });
  out.push({ value: s.count, labels: s.labels, metricName: 'fieldhub_http_request_duration_seconds_count' });
  return out;
}
