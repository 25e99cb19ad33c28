/**
 * The pull and push jobs: fieldhub as a NetAlertX hub pulling nodes' GET /sync, and as a node
 * posting its devices to a hub. Failures become alert notifications; the jobs never throw.
 */
import type { Log } from '../../core/logger.js';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import { zodIssueText } from '../../core/errors.js';
import { encryptData } from './crypto.js';
import { devicesJson } from './devices-out.js';
import { StoreFailedError } from './receiver.js';
import type { SyncHub } from './service.js';
import { DEVICES_PLUGIN } from './payload.js';
import { nodeName } from './schemas.js';
import { encodeBody, HubFormats, type WireFormat } from './push.js';
import { displayUrl, errText, TAG } from './text.js';

const nodeAnswer = z.object({
  node_name: nodeName,
  data_base64: z.string().min(1),
});

export class SyncPeers {
  readonly formats: HubFormats;

  constructor(
    private readonly cfg: Config['sync'],
    private readonly hub: SyncHub,
    private readonly log: Log,
  ) {
    this.formats = new HubFormats(cfg.hubFormat);
  }

  /**
   * A signal that aborts when `parent` does or after pullTimeoutSeconds; call done() afterwards.
   * Not AbortSignal.any([parent, AbortSignal.timeout(ms)]): on Node 20 a garbage collection can drop
   * that timeout, and a peer that never answers then holds the job (and every later run) forever.
   */
  private deadline(parent: AbortSignal): { signal: AbortSignal; done: () => void } {
    const ac = new AbortController();
    const ms = this.cfg.pullTimeoutSeconds * 1000;
    const timer = setTimeout(() => ac.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError')), ms);
    const onAbort = () => ac.abort(parent.reason);
    if (parent.aborted) onAbort();
    else parent.addEventListener('abort', onAbort, { once: true });
    return {
      signal: ac.signal,
      done: () => {
        clearTimeout(timer);
        parent.removeEventListener('abort', onAbort);
      },
    };
  }

  /** Records a notification (writer thread; the job goes on after its COMMIT); never throws. */
  private async notify(level: 'info' | 'alert', text: string): Promise<void> {
    try {
      await this.hub.notify(level, text);
    } catch (e) {
      this.log.error({ err: e }, 'sync: writing a notification failed');
    }
  }

  /** The pull job: GET <node>/sync of every configured node, stored and processed as that node's push. Never throws. */
  async pull(
    parent: AbortSignal,
  ): Promise<Array<{ url: string; ok: boolean; node?: string; seq?: number; error?: string }>> {
    const out: Array<{ url: string; ok: boolean; node?: string; seq?: number; error?: string }> = [];
    if (!this.cfg.apiToken) {
      if (this.cfg.pullNodes.length) await this.notify('alert', `${TAG} Pull skipped: sync.apiToken is not configured`);
      return out;
    }
    for (const base of this.cfg.pullNodes) {
      const url = `${base.replace(/\/+$/, '')}/sync`;
      const shown = displayUrl(url);
      const deadline = this.deadline(parent);
      try {
        let text: string;
        let res: Response;
        try {
          res = await fetch(url, {
            headers: { authorization: `Bearer ${this.cfg.apiToken}`, accept: 'application/json' },
            signal: deadline.signal,
          });
          text = await res.text();
        } finally {
          deadline.done();
        }
        if (res.status !== 200) throw new Error(`status code ${res.status}`);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new Error('the answer is not JSON');
        }
        const ans = nodeAnswer.safeParse(body);
        if (!ans.success) throw new Error(`unexpected answer: ${zodIssueText(ans.error)}`);
        const { seq } = await this.hub.receive({
          plugin: DEVICES_PLUGIN,
          node: ans.data.node_name,
          data: ans.data.data_base64,
          source: 'pull',
          clientFilePath: shown,
        });
        out.push({ url: shown, ok: true, node: ans.data.node_name, seq });
      } catch (e) {
        const reason = e instanceof StoreFailedError ? e.message : errText(e);
        this.log.warn({ node: shown, reason }, 'sync: pull failed');
        await this.notify('alert', `${TAG} Failed to pull data from "${shown}": ${reason}`);
        this.hub.payloads.inc({ source: 'pull', result: 'error' });
        out.push({ url: shown, ok: false, error: reason });
      }
    }
    return out;
  }

  /** The push job: POST this instance's devices to <hubUrl>/sync as a NetAlertX node does. Never throws. */
  async push(
    parent: AbortSignal,
  ): Promise<{ ok: boolean; status?: number; error?: string; devices?: number } | undefined> {
    const hub = this.cfg.hubUrl;
    if (!hub) return undefined;
    const url = `${hub.replace(/\/+$/, '')}/sync`;
    const shown = displayUrl(url);
    const what = 'table_devices.json';
    if (!this.cfg.apiToken) {
      await this.notify('alert', `${TAG} Push skipped: sync.apiToken is not configured`);
      return { ok: false, error: 'no apiToken' };
    }
    try {
      const { json, count: devices } = await devicesJson(this.hub.db, { extraKeys: this.cfg.serveExtraKeys });
      const data = this.cfg.encryptionKey ? encryptData(json, this.cfg.encryptionKey) : json;
      const fields = { data, node_name: this.cfg.nodeName, plugin: DEVICES_PLUGIN, file_path: what };
      const post = async (format: WireFormat) => {
        const { body, contentType } = encodeBody(format, fields);
        const deadline = this.deadline(parent);
        try {
          const r = await fetch(url, {
            method: 'POST',
            body,
            headers: { authorization: `Bearer ${this.cfg.apiToken}`, 'content-type': contentType },
            signal: deadline.signal,
          });
          return { status: r.status, body: await r.text() };
        } finally {
          deadline.done();
        }
      };
      const res = await this.formats.send(url, post);
      this.log.info({ hub: shown, status: res.status, format: res.format }, 'sync: push answered');
      if (res.status === 200) {
        await this.notify('info', `${TAG} Data for "${what}" sent successfully to "${shown}" (${devices} devices)`);
        this.hub.payloads.inc({ source: 'push', result: 'sent' });
        return { ok: true, status: 200, devices };
      }
      this.log.warn({ hub: shown, status: res.status }, 'sync: push failed');
      await this.notify('alert', `${TAG} Failed to send data for "${what}" to "${shown}" (Status code: ${res.status})`);
      this.hub.payloads.inc({ source: 'push', result: 'error' });
      return { ok: false, status: res.status };
    } catch (e) {
      const reason = errText(e);
      this.log.warn({ hub: shown, reason }, 'sync: push failed');
      await this.notify('alert', `${TAG} Failed to send data for "${what}" to "${shown}": ${reason}`);
      this.hub.payloads.inc({ source: 'push', result: 'error' });
      return { ok: false, error: reason };
    }
  }
}
