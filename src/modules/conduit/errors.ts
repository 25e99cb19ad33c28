/**
 * The conduit module's domain error. Stores, services, the uplink decoder and the CLI throw it
 * with a kind; only the routes turn a kind into an HTTP status (routes.ts `toHttp`).
 */
export type RefusalKind =
  'invalid' | 'unauthenticated' | 'forbidden' | 'not-found' | 'conflict' | 'throttled' | 'range-too-long';

export class Refused extends Error {
  constructor(
    readonly kind: RefusalKind,
    message: string,
    /** throttled: whole seconds until the user may try again */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'Refused';
  }
}

export const invalid = (message: string) => new Refused('invalid', message);

const KINDS: ReadonlySet<string> = new Set<RefusalKind>([
  'invalid',
  'unauthenticated',
  'forbidden',
  'not-found',
  'conflict',
  'throttled',
  'range-too-long',
]);

/** A Refused thrown on the writer thread arrives as an Error with its name, message and kind: a Refused again. */
export function refusedAgain(e: unknown): unknown {
  if (!(e instanceof Error) || e.name !== 'Refused') return e;
  const { kind, retryAfterSeconds } = e as Error & { kind?: unknown; retryAfterSeconds?: unknown };
  if (typeof kind !== 'string' || !KINDS.has(kind)) return e;
  return new Refused(
    kind as RefusalKind,
    e.message,
    typeof retryAfterSeconds === 'number' ? retryAfterSeconds : undefined,
  );
}
