import { useState } from 'preact/hooks';
import { get, post, qs } from './api.js';
import { ago, Err, fmtTime, html, Pager } from './html.js';
import { usePoll } from './hooks.js';

const LIMIT = 50;

export function SyncPage() {
  const [offset, setOffset] = useState(0);
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  const health = usePoll(() => get('/admin/sync/health'), []);
  const nodes = usePoll(() => get('/admin/sync/nodes'), []);
  const notes = usePoll(() => get('/admin/sync/notifications?limit=20'), []);
  const payloads = usePoll(() => get(`/admin/sync/payloads${qs({ limit: LIMIT, offset })}`), [offset]);
  const act = (what) => async () => {
    setError(null);
    try {
      const r = await post(`/admin/sync/${what}`);
      setMsg(`${what}: ${r.ok ? 'done' : `failed: ${r.error ?? ''}`}`);
    } catch (e) {
      setError(`${what}: ${e.message}`);
    }
    nodes.reload();
    health.reload();
  };
  const marked = (what, call) => async () => {
    setError(null);
    try {
      await call();
    } catch (e) {
      setError(`${what}: ${e.message}`);
    }
    notes.reload();
    health.reload();
  };
  const markRead = (id) => marked('mark read', () => post(`/admin/sync/notifications/${id}/read`));
  // up to the newest one shown: what arrived since is not marked unseen
  const markAllRead = marked('mark all read', () =>
    post('/admin/sync/notifications/read', { upToId: notes.data?.notifications[0]?.id }),
  );
  const h = health.data;
  return html`<section>
    <h1>Sync — NetAlertX</h1>
    ${h && html`<p class=${`banner ${h.status}`} id="sync-health">${h.reasons.join(' · ')}</p>`}
    <div class="toolbar">
      <button id="pull-now" onClick=${act('pull')}>Pull now</button>
      <button id="push-now" onClick=${act('push')}>Push now</button>
      ${msg && html`<span class="ok">${msg}</span>`}
    </div>
    <${Err} error=${error} />
    <h2>Pulled nodes and hub</h2>
    <table id="sync-peers">
      <thead>
        <tr>
          <th>peer</th>
          <th>role</th>
          <th>last success</th>
          <th>last attempt</th>
          <th>last error</th>
        </tr>
      </thead>
      <tbody>
        ${(nodes.data?.peers ?? []).map(
          (p) =>
            html`<tr>
              <td class="wrap">${p.peer}</td>
              <td>${p.role}</td>
              <td>${ago(p.lastSuccessAt)}</td>
              <td>${ago(p.lastAttemptAt)}</td>
              <td class="wrap">${p.lastError ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Nodes seen</h2>
    <table id="sync-nodes">
      <thead>
        <tr>
          <th>node</th>
          <th>last received</th>
          <th>payloads</th>
          <th>failed</th>
        </tr>
      </thead>
      <tbody>
        ${(nodes.data?.nodes ?? []).map(
          (n) =>
            html`<tr>
              <td class="wrap">${n.node}</td>
              <td>${ago(n.lastReceivedAt)}</td>
              <td>${n.payloads}</td>
              <td>${n.failed}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Notifications</h2>
    <div class="toolbar">
      <span id="sync-unread">${notes.data?.unread ?? 0} unread</span>
      <button id="mark-all-read" disabled=${!notes.data?.unread} onClick=${markAllRead}>Mark all read</button>
    </div>
    <ul class="notes" id="sync-notifications">
      ${(notes.data?.notifications ?? []).map(
        (n) =>
          html`<li class=${`${n.level} ${n.read ? 'read' : 'unread'}`} data-id=${n.id}>
            <time>${fmtTime(n.time)}</time> ${n.text}
            ${!n.read && html`<button class="mark-read" onClick=${markRead(n.id)}>Mark read</button>`}
          </li>`,
      )}
    </ul>
    <h2>Received payloads</h2>
    <table id="sync-payloads">
      <thead>
        <tr>
          <th>#</th>
          <th>plugin</th>
          <th>node</th>
          <th>seq</th>
          <th>source</th>
          <th>received</th>
          <th>bytes</th>
          <th>state</th>
          <th>items</th>
          <th>error</th>
        </tr>
      </thead>
      <tbody>
        ${(payloads.data?.payloads ?? []).map(
          (p) =>
            html`<tr>
              <td>${p.id}</td>
              <td class="wrap">${p.plugin}</td>
              <td class="wrap">${p.node}</td>
              <td>${p.seq}</td>
              <td>${p.source}</td>
              <td>${fmtTime(p.receivedAt)}</td>
              <td>${p.bytes}</td>
              <td><span class=${`pill ${p.status}`}>${p.status}</span></td>
              <td>${p.items ?? ''}</td>
              <td class="wrap">${p.error ?? ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <${Pager} total=${payloads.data?.total ?? 0} offset=${offset} limit=${LIMIT} onPage=${setOffset} />
  </section>`;
}
