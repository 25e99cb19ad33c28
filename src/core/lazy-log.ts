/**
 * The request logger of hot routes that log at warn (push's device routes, /healthz and the other
 * ops routes): Fastify would build a pino child (with the request id binding and a level change)
 * for every request. This one holds the parent and the bindings
 * and builds the real child only when a warn/error line is written or a child is asked for, so the
 * request id is in every line that is written. A class: one allocation per request, its methods on
 * the prototype (an object literal of closures cost ten functions per request; docs/performance.md).
 */
import type { FastifyBaseLogger, RouteShorthandOptions } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

class LazyWarnLogger implements FastifyBaseLogger {
  private real: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly opts: ChildLoggerOptions,
  ) {}

  private get logger(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings, this.opts));
  }

  get level(): string {
    return this.real?.level ?? this.opts.level ?? this.parent.level;
  }

  set level(l: string) {
    this.logger.level = l;
  }

  fatal(...a: unknown[]): void {
    const l = this.logger;
    Reflect.apply(l.fatal, l, a);
  }

  error(...a: unknown[]): void {
    const l = this.logger;
    Reflect.apply(l.error, l, a);
  }

  warn(...a: unknown[]): void {
    const l = this.logger;
    Reflect.apply(l.warn, l, a);
  }

  info(): void {}
  debug(): void {}
  trace(): void {}
  silent(): void {}

  child(b: Bindings, o?: ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(b, o);
  }
}

export const lazyWarnLogger: NonNullable<RouteShorthandOptions['childLoggerFactory']> = (logger, bindings, opts) =>
  new LazyWarnLogger(logger, bindings, opts);
