import { describe, expect, it } from 'vitest';
import { build } from '../helpers/app.js';
import { testModule } from '../fixtures/test-module.js';

/** The lines of one metric family (HELP, TYPE and samples) in a Prometheus text answer. */
function family(text: string, name: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) || l.startsWith(`# HELP ${name} `) || l.startsWith(`# TYPE ${name} `));
}

describe('GET /metrics', () => {
  it('carries the event-loop delay gauge: p50, p99 and max, in seconds, non-negative', async () => {
    const t = await build({}, { modules: [testModule] });
    const url = await t.listen();
    for (let i = 0; i < 2; i++) {
      // the gauge covers the time since the previous scrape: the second scrape has its own samples
      const res = await fetch(`${url}/metrics`);
      expect(res.status).toBe(200);
      const lines = family(await res.text(), 'fieldhub_event_loop_delay_seconds');
      expect(lines).toContain('# TYPE fieldhub_event_loop_delay_seconds gauge');
      for (const q of ['0.5', '0.99', 'max']) {
        const line = lines.find((l) => l.startsWith(`fieldhub_event_loop_delay_seconds{quantile="${q}"} `));
        expect(line, `quantile ${q}`).toBeDefined();
        const value = Number(line!.split(' ')[1]);
        expect(Number.isFinite(value)).toBe(true);
        expect(value).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('counts requests per route, method and status, with a cumulative latency histogram per series', async () => {
    const t = await build({}, { modules: [testModule] });
    const url = await t.listen();
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/no-such-path`)).status).toBe(404);
    const text = await (await fetch(`${url}/metrics`)).text();

    const requests = family(text, 'fieldhub_http_requests_total');
    expect(requests).toContain('# TYPE fieldhub_http_requests_total counter');
    expect(requests).toContain('fieldhub_http_requests_total{method="GET",route="/healthz",status="200"} 3');
    expect(
      requests.some((l) => /^fieldhub_http_requests_total\{method="GET",route="[^"]*",status="404"\} 1$/.test(l)),
    ).toBe(true);

    const hist = family(text, 'fieldhub_http_request_duration_seconds');
    expect(hist).toContain('# TYPE fieldhub_http_request_duration_seconds histogram');
    const series = 'method="GET",route="/healthz",status="200"';
    const buckets = hist
      .filter((l) => l.startsWith('fieldhub_http_request_duration_seconds_bucket{') && l.includes(series))
      .map((l) => ({ le: /le="([^"]+)"/.exec(l)![1]!, n: Number(l.split(' ')[1]) }));
    expect(buckets.map((b) => b.le)).toEqual([
      '0.0005',
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    // cumulative: never decreasing, and +Inf holds every request
    buckets.forEach((b, i) => expect(b.n).toBeGreaterThanOrEqual(i ? buckets[i - 1]!.n : 0));
    expect(buckets.at(-1)!.n).toBe(3);
    expect(hist).toContain(`fieldhub_http_request_duration_seconds_count{${series}} 3`);
    const sum = hist.find((l) => l.startsWith(`fieldhub_http_request_duration_seconds_sum{${series}} `));
    expect(Number(sum!.split(' ')[1])).toBeGreaterThanOrEqual(0);
  });
});
