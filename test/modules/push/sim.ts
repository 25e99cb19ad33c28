/** A Control iD device simulator: a real HTTP client (node:http, keep-alive) against a listening fieldhub. */
import { Agent, request, type IncomingHttpHeaders } from 'node:http';

export const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 100_000 });

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** One request with exactly the headers given (no implicit content type). */
export function http(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.body !== undefined) headers['content-length'] = String(Buffer.byteLength(opts.body));
    const req = request(url, { method: opts.method ?? 'GET', headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface PushCommand {
  verb?: string;
  endpoint: string;
  body?: unknown;
  contentType?: string;
  queryString?: string;
  uuid: string;
}

export interface Poll extends HttpAnswer {
  command?: PushCommand;
}

export class SimDevice {
  constructor(
    public base: string,
    readonly id: string,
  ) {}

  async poll(): Promise<Poll> {
    const r = await http(`${this.base}/push?deviceId=${this.id}`);
    if (r.status !== 200) throw new Error(`poll ${this.id}: ${r.status} ${r.text}`);
    return r.text === '' ? r : { ...r, command: JSON.parse(r.text) as PushCommand };
  }

  /** POST /result with a raw body; contentType null sends none. */
  result(body: string, opts: { contentType?: string | null; query?: string } = {}): Promise<HttpAnswer> {
    const contentType = opts.contentType === undefined ? 'application/json' : opts.contentType;
    return http(`${this.base}/result?deviceId=${this.id}${opts.query ?? ''}`, {
      method: 'POST',
      headers: contentType === null ? {} : { 'content-type': contentType },
      body,
    });
  }

  /** Polls once; executes a command by answering {"response": {"endpoint", "n"}}. Returns the command. */
  async step(): Promise<PushCommand | undefined> {
    const p = await this.poll();
    if (!p.command) return undefined;
    const r = await this.result(
      JSON.stringify({ response: { endpoint: p.command.endpoint, body: p.command.body ?? null } }),
    );
    if (r.status !== 200 || r.text !== '') throw new Error(`result ${this.id}: ${r.status} ${r.text}`);
    return p.command;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
