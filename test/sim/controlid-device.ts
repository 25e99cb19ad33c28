/**
 * A Control iD access-control device as its firmware talks push (shared/specs/controlid-push.md and
 * the Control iD section of shared/specs/peer-notes.md), for the push tests, the resilience crash
 * test and bench/push.
 *
 * "firmware" mode (the default) behaves as the devices in the field and Control iD's own samples:
 * - polls `GET <push_remote_address>/push?deviceId=D&uuid=U` with a uuid of its own, fresh per poll;
 * - on an empty answer waits `push_request_period` seconds, else executes the command at once
 *   against a fake device API (a JSON-encoded string `body` is decoded, base64 for octet-stream);
 * - reports `POST /result?deviceId=D&uuid=U&endpoint=E` with `{"response": "<the API's answer text>"}`
 *   (a JSON string, as the samples' `JSON.parse(body.response)` expects) or `{"error": "..."}`;
 * - every request is bounded by `push_request_timeout` (ms); a result that fails on a connection
 *   error (refused, reset, timeout) is sent again, same uuid and body, after one poll period, up to
 *   `resultRetries` times; then the device drops it and polls again (the server redelivers later);
 * - polls again right after a result.
 * "plain" mode is the older test client: no uuid, no endpoint, `response` as a JSON object.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';

export const deviceAgent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 100_000 });

export interface PushCommand {
  verb?: string;
  endpoint: string;
  body?: unknown;
  contentType?: string;
  queryString?: string;
  /** fieldhub's command id (the firmware ignores it; kept for the tests' bookkeeping) */
  uuid?: string;
}

export interface ApiCall {
  deviceId: string;
  verb: string;
  endpoint: string;
  /** the body decoded as the device's API would get it (JSON value, text, or bytes) */
  body: unknown;
  contentType: string;
  queryString: string;
}

/** The device's own API: the text of its answer, or throws DeviceApiError for an error answer. */
export type DeviceApi = (call: ApiCall) => string;

export class DeviceApiError extends Error {}

/**
 * A stand-in for the device's API: deterministic answer text per call, with spacing and non-ASCII
 * characters so that any re-encoding on the server shows. `fail_me` answers an error.
 */
export const fakeDeviceApi: DeviceApi = (c) => {
  if (c.endpoint.replace(/\.fcgi$/, '') === 'fail_me') throw new DeviceApiError('invalid session');
  const body = c.body instanceof Buffer ? { bytes: c.body.length } : c.body;
  return `{"endpoint": "${c.endpoint}", "device": ${c.deviceId}, "echo": ${JSON.stringify(body ?? null)}, "note": "ação ✓"}`;
};

export interface DeviceOptions {
  /** push_remote_address: the base URL the device extends with /push and /result (may hold a path) */
  remoteAddress: string;
  deviceId: string;
  mode?: 'firmware' | 'plain';
  /** push_request_period, seconds (Control iD sample: 5) */
  requestPeriodSeconds?: number;
  /** push_request_timeout, milliseconds (Control iD sample: 4000) */
  requestTimeoutMs?: number;
  resultRetries?: number;
  api?: DeviceApi;
}

export interface Answer {
  status: number;
  text: string;
}

export interface Execution {
  command: PushCommand;
  /** the uuid of the poll that got the command (firmware mode) */
  deviceUuid?: string;
  /** the exact /result body sent */
  resultBody: string;
  /** the API's answer text (the response string) or the error message */
  answer: string;
  ok: boolean;
  /** the server answered the /result with 200 */
  acked: boolean;
}

export const isConnectionError = (e: unknown) =>
  e instanceof Error &&
  /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|socket hang up|timeout/i.test(
    `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`,
  );

export function deviceHttp(url: string, method: string, body: string | undefined, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> =
      body === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
    const req = request(url, { method, headers, agent: deviceAgent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('request timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ControlIdDevice {
  remoteAddress: string;
  readonly deviceId: string;
  readonly mode: 'firmware' | 'plain';
  readonly periodMs: number;
  readonly timeoutMs: number;
  readonly resultRetries: number;
  readonly api: DeviceApi;
  readonly executions: Execution[] = [];
  readonly stats = { polls: 0, emptyPolls: 0, connectionErrors: 0, resultRetries: 0 };

  constructor(o: DeviceOptions) {
    this.remoteAddress = o.remoteAddress.replace(/\/$/, '');
    this.deviceId = o.deviceId;
    this.mode = o.mode ?? 'firmware';
    this.periodMs = (o.requestPeriodSeconds ?? 5) * 1000;
    this.timeoutMs = o.requestTimeoutMs ?? 4000;
    this.resultRetries = o.resultRetries ?? 3;
    this.api = o.api ?? fakeDeviceApi;
  }

  /** One GET /push. Throws on connection errors and on a non-200 answer. */
  async poll(): Promise<{ command?: PushCommand; deviceUuid?: string }> {
    const deviceUuid = this.mode === 'firmware' ? randomUUID() : undefined;
    const q = deviceUuid === undefined ? '' : `&uuid=${deviceUuid}`;
    this.stats.polls++;
    const r = await deviceHttp(
      `${this.remoteAddress}/push?deviceId=${this.deviceId}${q}`,
      'GET',
      undefined,
      this.timeoutMs,
    );
    if (r.status !== 200) throw new Error(`poll ${this.deviceId}: ${r.status} ${r.text}`);
    if (r.text.trim() === '' || r.text.trim() === '{}') {
      this.stats.emptyPolls++;
      return { deviceUuid };
    }
    return { command: JSON.parse(r.text) as PushCommand, deviceUuid };
  }

  /** Runs a command on the fake API: the answer text, or the error. */
  execute(c: PushCommand): { ok: boolean; answer: string } {
    const contentType = c.contentType ?? 'application/json';
    let body: unknown = c.body;
    if (typeof body === 'string' && /octet-stream/i.test(contentType)) body = Buffer.from(body, 'base64');
    else if (typeof body === 'string' && /json/i.test(contentType)) {
      try {
        body = JSON.parse(body);
      } catch {
        // a plain string body
      }
    }
    try {
      const answer = this.api({
        deviceId: this.deviceId,
        verb: c.verb ?? 'POST',
        endpoint: c.endpoint,
        body,
        contentType,
        queryString: c.queryString ?? '',
      });
      return { ok: true, answer };
    } catch (e) {
      if (e instanceof DeviceApiError) return { ok: false, answer: e.message };
      throw e;
    }
  }

  /** The /result URL and body the device sends for an executed command. */
  resultRequest(
    c: PushCommand,
    deviceUuid: string | undefined,
    ok: boolean,
    answer: string,
  ): { url: string; body: string } {
    let q = `deviceId=${this.deviceId}`;
    if (this.mode === 'firmware')
      q += `&uuid=${encodeURIComponent(deviceUuid!)}&endpoint=${encodeURIComponent(c.endpoint)}`;
    const body = !ok
      ? JSON.stringify({ error: answer })
      : JSON.stringify({ response: this.mode === 'firmware' ? answer : (JSON.parse(answer) as unknown) });
    return { url: `${this.remoteAddress}/result?${q}`, body };
  }

  /** POST /result, retried after a period on connection errors. Returns whether the server took it (200). */
  async report(
    c: PushCommand,
    deviceUuid: string | undefined,
    ok: boolean,
    answer: string,
  ): Promise<{ acked: boolean; body: string }> {
    for (let attempt = 0; ; attempt++) {
      const { url, body } = this.resultRequest(c, deviceUuid, ok, answer); // after a restart the address may have changed
      try {
        const r = await deviceHttp(url, 'POST', body, this.timeoutMs);
        return { acked: r.status === 200, body };
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        this.stats.connectionErrors++;
        if (attempt >= this.resultRetries) return { acked: false, body };
        this.stats.resultRetries++;
        await sleep(this.periodMs);
      }
    }
  }

  /** One poll; a command it brings is executed and reported. Returns the execution, if any. */
  async cycle(): Promise<Execution | undefined> {
    const { command, deviceUuid } = await this.poll();
    if (!command) return undefined;
    const { ok, answer } = this.execute(command);
    const { acked, body } = await this.report(command, deviceUuid, ok, answer);
    const e: Execution = { command, deviceUuid, resultBody: body, answer, ok, acked };
    this.executions.push(e);
    return e;
  }

  /** The firmware loop until `stop()`: poll; after an empty poll (or a failed one) wait a period. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      let got: Execution | undefined;
      try {
        got = await this.cycle();
      } catch (e) {
        if (!isConnectionError(e)) throw e;
        this.stats.connectionErrors++;
      }
      if (!got && !stop()) await sleep(this.periodMs);
    }
  }
}
