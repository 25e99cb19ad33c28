/** Wording shared by the hub and the peers jobs: the original's notification tag, error texts, safe URLs. */
import { redactUrl } from '../../core/auth.js';

export const TAG = '[Plugin: SYNC]';

export function errText(e: unknown): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return 'timed out';
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code) return `${e.message} (${cause.code})`;
    return e.message;
  }
  return String(e);
}

/** A URL fit for notifications and logs: no user info, no secret query parameters. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return redactUrl(u.toString());
  } catch {
    return '(invalid URL)';
  }
}
