/** Usage throttling: one request per window per user, in memory (a restart forgets it). */

export class Throttle {
  private readonly last = new Map<number, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Takes the user's turn. Returns 0 when the request may pass (and starts a new window), else
   * the seconds until it may. A refused request does not move the window.
   */
  take(user: number, windowSeconds: number): number {
    if (!(windowSeconds > 0)) return 0;
    const t = this.now();
    const prev = this.last.get(user);
    const windowMs = windowSeconds * 1000;
    if (prev !== undefined && t - prev < windowMs) return (windowMs - (t - prev)) / 1000;
    this.last.set(user, t);
    return 0;
  }
}
