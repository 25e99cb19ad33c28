/** The patriot request log `<dataDir>/api_requests.log`: one line per request, key_name never the key. */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { FastifyRequest } from 'fastify';

/** Appends one line per request: time, key_name, method, path, client id, status, duration. */
export class RequestLog {
  private readonly out: WriteStream;
  constructor(readonly file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.out = createWriteStream(file, { flags: 'a' });
    this.out.on('error', () => {}); // a full disk must not take the API down; the app log has the requests
  }

  write(req: FastifyRequest, status: number, ms: number, keyName: string | undefined): void {
    const p = req.url
      .split('?')[0]!
      .replace(/[^\x21-\x7e]/g, '?')
      .slice(0, 200);
    const h: unknown = req.headers['x-client-id'];
    const raw = h ?? (req.body as { client_id?: unknown } | undefined)?.client_id;
    // only a string or number (String() of an object like {"toString": 1} throws)
    const id =
      (typeof raw === 'string' || typeof raw === 'number') && /^\d{1,12}$/.test(String(raw).trim())
        ? String(raw).trim()
        : '-';
    this.out.write(
      `${new Date().toISOString()} key_name=${keyName ?? '-'} ${req.method} ${p} client_id=${id} status=${status} duration_ms=${ms.toFixed(1)}\n`,
    );
  }

  close(): Promise<void> {
    return new Promise((r) => this.out.end(r));
  }
}
