/**
 * In-process job runner on croner. A job never overlaps itself (scheduled and on-demand runs
 * share one lock), failures are logged and counted, and stop() waits for a running job.
 */
import { Cron } from 'croner';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from './metrics.js';

/** A job; `context` is what an on-demand caller passed to run() (undefined for a scheduled run). */
export type JobFn = (signal: AbortSignal, context?: unknown) => unknown; // a value or a promise of one

interface Job {
  name: string;
  cron?: Cron;
  fn: JobFn;
  running?: Promise<JobResult>;
  lastRun?: JobResult;
  /** the scheduled time of the next cron run (the slot a claim names) */
  slot?: Date;
}

/** Grants one scheduled run (job, slot) to this process; several replicas on one database ask the same question. */
export type ClaimFn = (job: string, slot: Date) => Promise<boolean>;

export interface JobResult {
  job: string;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  /** set when the job was already running and this call did not start another run */
  skipped?: boolean;
  value?: unknown;
  error?: string;
}

export class Scheduler {
  private readonly jobs = new Map<string, Job>();
  private readonly abort = new AbortController();
  private started = false;
  private stopped = false;
  private claim: ClaimFn | undefined;

  constructor(
    private readonly log: Pick<FastifyBaseLogger, 'error'>,
    private readonly metrics?: Metrics,
  ) {}

  /**
   * Registers a job. `cron` (5 or 6 fields, local time) schedules it once start() is called;
   * without `cron` it runs only on demand through run().
   */
  register(name: string, fn: JobFn, opts: { cron?: string; timezone?: string } = {}): void {
    if (this.jobs.has(name)) throw new Error(`job ${name} registered twice`);
    const job: Job = { name, fn };
    if (opts.cron) {
      const cronOpts = { paused: true, timezone: opts.timezone, name: `fieldhub:${name}:${Math.random()}` };
      job.cron = new Cron(opts.cron, cronOpts, () => {
        const slot = job.slot;
        job.slot = job.cron?.nextRun() ?? undefined;
        void this.runScheduled(job, slot);
      });
    }
    this.jobs.set(name, job);
  }

  start(): void {
    if (this.stopped) throw new Error('scheduler stopped');
    this.started = true;
    for (const j of this.jobs.values()) {
      j.cron?.resume();
      j.slot = j.cron?.nextRun() ?? undefined;
    }
  }

  /**
   * Scheduled runs from now on happen only when `claim` grants them: with several replicas on one
   * database each slot of a job runs once across them (PgStore.claimRun). On-demand runs are not claimed.
   */
  setClaim(claim: ClaimFn): void {
    this.claim = claim;
  }

  private async runScheduled(job: Job, slot: Date | undefined): Promise<void> {
    if (this.claim && slot) {
      try {
        if (!(await this.claim(job.name, slot))) return;
      } catch (err) {
        // the database is unreachable: skip this slot, the next one asks again
        this.log.error({ err, job: job.name }, 'job claim failed; run skipped');
        return;
      }
    }
    await this.run(job.name);
  }

  get running(): boolean {
    return this.started && !this.stopped;
  }

  /**
   * Runs a job now with `context` (e.g. who asked), or, when it is already running, waits for that
   * run and reports it as skipped (the context of a skipped call is not used).
   */
  async run(name: string, context?: unknown): Promise<JobResult> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`no job ${name}`);
    if (job.running) {
      const r = await job.running;
      return { ...r, skipped: true };
    }
    if (this.stopped) {
      const now = new Date().toISOString();
      return { job: name, startedAt: now, finishedAt: now, ok: false, skipped: true, error: 'scheduler stopped' };
    }
    const p = this.execute(job, context);
    job.running = p;
    try {
      return await p;
    } finally {
      job.running = undefined;
    }
  }

  private async execute(job: Job, context: unknown): Promise<JobResult> {
    const startedAt = new Date();
    const end = this.metrics?.jobDuration.startTimer({ job: job.name });
    try {
      const value = await job.fn(this.abort.signal, context);
      end?.({ result: 'ok' });
      this.metrics?.jobRuns.inc({ job: job.name, result: 'ok' });
      const finishedAt = new Date().toISOString();
      const r: JobResult = { job: job.name, startedAt: startedAt.toISOString(), finishedAt, ok: true, value };
      job.lastRun = r;
      return r;
    } catch (err) {
      end?.({ result: 'error' });
      this.metrics?.jobRuns.inc({ job: job.name, result: 'error' });
      this.log.error({ err, job: job.name }, 'job failed');
      const r: JobResult = {
        job: job.name,
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      };
      job.lastRun = r;
      return r;
    }
  }

  list(): Array<{ name: string; cron?: string; next?: string; running: boolean; lastRun?: JobResult }> {
    return [...this.jobs.values()].map((j) => ({
      name: j.name,
      cron: j.cron?.getPattern(),
      next: j.cron?.nextRun()?.toISOString(),
      running: Boolean(j.running),
      lastRun: j.lastRun,
    }));
  }

  /** Stops scheduling, signals running jobs to wind down, and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const j of this.jobs.values()) j.cron?.stop();
    this.abort.abort();
    await Promise.allSettled([...this.jobs.values()].flatMap((j) => (j.running ? [j.running] : [])));
  }
}
