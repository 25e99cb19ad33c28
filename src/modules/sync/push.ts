/**
 * The push job's wire: fieldhub as a NetAlertX node posting its devices to a hub's POST /sync.
 * Hubs differ (../shared/specs/peer-notes.md): 26.1 reads a form only (a JSON post gets a 200 and
 * stores empty fields), 26.2+ read JSON only (a form gets a 415). `sync.hubFormat`:
 * - `json` / `form`: that one only;
 * - `auto`: the format that worked for this hub in the last 24 hours first, else JSON; on a 415 the
 *   other one. A 200 to JSON that is not 26.2+'s `{"success": true, ...}` may be a 26.1 hub that stored
 *   nothing: the form is posted too; its 200 means a form hub, its 415 a JSON hub (the JSON post was
 *   stored). What worked is remembered in memory per hub URL (a restart probes again).
 */
export type WireFormat = 'json' | 'form';

export const REPROBE_MS = 24 * 60 * 60 * 1000;

export interface PushFields {
  data: string;
  node_name: string;
  plugin: string;
  file_path: string;
}

export interface PushOutcome {
  status: number;
  format: WireFormat;
}

type Post = (format: WireFormat) => Promise<{ status: number; body: string }>;

/** 26.2+ API answers carry `"success": true`; 26.1's is a bare `{"message": ...}`. */
function confirmed(body: string): boolean {
  try {
    return (JSON.parse(body) as { success?: unknown }).success === true;
  } catch {
    return false;
  }
}

export function encodeBody(format: WireFormat, f: PushFields): { body: string; contentType: string } {
  return format === 'json'
    ? { body: JSON.stringify(f), contentType: 'application/json' }
    : { body: new URLSearchParams({ ...f }).toString(), contentType: 'application/x-www-form-urlencoded' };
}

export class HubFormats {
  private readonly known = new Map<string, { format: WireFormat; at: number }>();

  constructor(private readonly mode: 'auto' | WireFormat) {}

  /** The formats to try, in order. */
  order(hub: string, now = Date.now()): WireFormat[] {
    if (this.mode !== 'auto') return [this.mode];
    const k = this.known.get(hub);
    if (k && now - k.at < REPROBE_MS) return k.format === 'json' ? ['json', 'form'] : ['form', 'json'];
    return ['json', 'form'];
  }

  remembered(hub: string): WireFormat | undefined {
    return this.known.get(hub)?.format;
  }

  /** Posts with fallback; the last answer's status, and which format it was. */
  async send(hub: string, post: Post, now = Date.now()): Promise<PushOutcome> {
    const order = this.order(hub, now);
    const fresh = this.mode === 'auto' && this.known.has(hub) && now - this.known.get(hub)!.at < REPROBE_MS;
    let last: PushOutcome = { status: 0, format: order[0]! };
    for (let i = 0; i < order.length; i++) {
      const format = order[i]!;
      const res = await post(format);
      last = { status: res.status, format };
      const next = order[i + 1];
      if (res.status === 415 && next) continue;
      if (res.status !== 200) return last;
      if (this.mode === 'auto' && format === 'json' && next === 'form' && !fresh && !confirmed(res.body)) {
        const again = await post('form');
        if (again.status === 200) return this.keep(hub, 'form', now, 200);
        if (again.status === 415) return this.keep(hub, 'json', now, 200);
        return { status: again.status, format: 'form' };
      }
      return this.keep(hub, format, now, 200);
    }
    return last;
  }

  private keep(hub: string, format: WireFormat, now: number, status: number): PushOutcome {
    if (this.mode === 'auto') this.known.set(hub, { format, at: now });
    return { status, format };
  }
}
