/** Usage limits per user, in memory (a restart forgets them). Both take an injectable clock (ms). */

/** One request per window: the window starts at the accepted request; a refused one does not move it. */
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

/**
 * At most `max` accepted requests in any sliding second (`windowMs`): a request passes when fewer
 * than `max` were accepted in the last `windowMs` (an acceptance at `a` counts until `a + windowMs`,
 * exclusive). Refused requests are not counted.
 */
export class RateWindow {
  private readonly accepted = new Map<number, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** 0 when the request may pass (and is counted), else the seconds until it may. */
  take(user: number, max: number, windowMs = 1000): number {
    const t = this.now();
    let times = this.accepted.get(user);
    if (!times) this.accepted.set(user, (times = []));
    while (times.length > 0 && times[0]! <= t - windowMs) times.shift();
    if (times.length >= max) return (times[0]! + windowMs - t) / 1000;
    times.push(t);
    return 0;
  }
}
