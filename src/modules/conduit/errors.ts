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
