/** Failed console sign-ins per client address in a fixed window; over the limit, sign-in answers 429. */
const MAX_TRACKED = 10_000;

export class FailedSignIns {
  private readonly byIp = new Map<string, { n: number; resetMs: number }>();

  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Seconds until this address may try again, 0 when it may now. */
  blockedSeconds(ip: string, now = Date.now()): number {
    const e = this.byIp.get(ip);
    if (!e || e.resetMs <= now) return 0;
    return e.n >= this.max ? Math.ceil((e.resetMs - now) / 1000) : 0;
  }

  fail(ip: string, now = Date.now()): number {
    let e = this.byIp.get(ip);
    if (!e || e.resetMs <= now) {
      if (this.byIp.size >= MAX_TRACKED) this.byIp.delete(this.byIp.keys().next().value!);
      e = { n: 0, resetMs: now + this.windowMs };
      this.byIp.set(ip, e);
    }
    e.n++;
    return e.n;
  }

  clear(ip: string): void {
    this.byIp.delete(ip);
  }
}
