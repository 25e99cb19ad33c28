/** The push module's Prometheus metrics, read from the in-memory index at scrape time. */
import { Counter } from 'prom-client';
import type { Metrics } from '../../core/metrics.js';
import type { PushService } from './service.js';

/** Registers the gauges and counters; returns the results counter (by final status, and "unmatched"). */
export function registerMetrics(svc: PushService, metrics: Metrics): Counter<'status'> {
  const results = metrics.counter(
    'fieldhub_push_results_total',
    'Commands finished, by final status (and unmatched results)',
    ['status'],
  );
  // polls are counted in a plain number on the hot path and moved to the counter at scrape time
  new Counter({
    name: 'fieldhub_push_polls_total',
    help: 'GET /push polls answered (rate() gives polls per second)',
    registers: [metrics.registry],
    collect() {
      this.inc(svc.polls);
      svc.polls = 0;
    },
  });
  metrics.gauge('fieldhub_push_queue_depth', 'Commands queued (not yet delivered)', [], function () {
    let n = 0;
    for (const d of svc.devices.values()) n += d.queued;
    this.set(n);
  });
  metrics.gauge('fieldhub_push_in_flight', 'Commands delivered and awaiting their result', [], function () {
    let n = 0;
    for (const d of svc.devices.values()) if (d.inFlight) n++;
    this.set(n);
  });
  metrics.gauge('fieldhub_push_devices_online', 'Devices seen within 3 poll periods', [], function () {
    this.set(svc.onlineCount());
  });
  metrics.gauge('fieldhub_push_devices', 'Registered devices', [], function () {
    this.set(svc.devices.size);
  });
  return results;
}
