import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.js';
import { Scheduler } from '../../src/core/scheduler.js';

const quiet = { error: () => {} };

describe('scheduler', () => {
  it('a job never overlaps itself: a second run while it runs waits and reports skipped', async () => {
    const s = new Scheduler(quiet);
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    s.register('job', async () => {
      active++;
      runs++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 100));
      active--;
      return runs;
    });
    const [a, b, c] = await Promise.all([s.run('job'), s.run('job'), s.run('job')]);
    expect(maxActive).toBe(1);
    expect(runs).toBe(1);
    expect(a).toMatchObject({ ok: true, value: 1 });
    expect(b).toMatchObject({ ok: true, skipped: true });
    expect(c).toMatchObject({ skipped: true });
    expect((await s.run('job')).value).toBe(2);
  });

  it('failures are logged and counted, and the next run still happens', async () => {
    const errors: unknown[] = [];
    const metrics = new Metrics({ defaultMetrics: false });
    const s = new Scheduler({ error: (o: unknown) => errors.push(o) } as never, metrics);
    let n = 0;
    s.register('flaky', () => {
      if (n++ === 0) throw new Error('boom');
      return 'fine';
    });
    expect(await s.run('flaky')).toMatchObject({ ok: false, error: 'boom' });
    expect(await s.run('flaky')).toMatchObject({ ok: true, value: 'fine' });
    expect(errors).toHaveLength(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('fieldhub_job_runs_total{job="flaky",result="error"} 1');
    expect(text).toContain('fieldhub_job_runs_total{job="flaky",result="ok"} 1');
  });

  it('runs on its cron expression once started, and stop() waits for a running job', async () => {
    const s = new Scheduler(quiet);
    let finished = 0;
    let started = 0;
    s.register(
      'tick',
      async () => {
        started++;
        await new Promise((r) => setTimeout(r, 300));
        finished++;
      },
      { cron: '* * * * * *' },
    );
    s.start();
    expect(s.running).toBe(true);
    while (started === 0) await new Promise((r) => setTimeout(r, 50));
    await s.stop();
    expect(finished).toBe(started);
    expect(s.running).toBe(false);
  });
});
