import { useState } from 'preact/hooks';
import { del, get, post, qs } from './api.js';
import { ago, Dot, Err, fmtTime, html, Pager } from './html.js';
import { usePoll } from './hooks.js';

const LIMIT = 50;
const enc = encodeURIComponent;

export function PushPage() {
  const [q, setQ] = useState('');
  const [sort, setSort] = useState('id');
  const [order, setOrder] = useState('asc');
  const [offset, setOffset] = useState(0);
  const health = usePoll(() => get('/admin/push/health'), []);
  const page = usePoll(
    () => get(`/admin/push/devices${qs({ q, sort, order, limit: LIMIT, offset })}`),
    [q, sort, order, offset],
  );
  const th = (key, label) =>
    html`<th>
      <button
        class="sort"
        onClick=${() => {
          if (sort === key) setOrder(order === 'asc' ? 'desc' : 'asc');
          else {
            setSort(key);
            setOrder('asc');
          }
        }}
      >
        ${label}${sort === key ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
      </button>
    </th>`;
  return html`<section>
    <h1>Push — Control iD devices</h1>
    ${health.data && html`<p class=${`banner ${health.data.status}`} id="push-health">${health.data.reasons.join(' · ')}</p>`}
    <${Err} error=${page.error} />
    <div class="toolbar">
      <input
        type="search"
        placeholder="search id or address"
        value=${q}
        onInput=${(e) => {
          setQ(e.target.value);
          setOffset(0);
        }}
      />
    </div>
    <table id="push-devices">
      <thead>
        <tr>
          ${th('id', 'device')}
          <th>online</th>
          ${th('lastSeen', 'last seen')}${th('address', 'address')}${th('queued', 'queue')}
        </tr>
      </thead>
      <tbody>
        ${(page.data?.devices ?? []).map(
          (d) =>
            html`<tr data-device=${d.deviceId}>
              <td><a href=${`#/push/${enc(d.deviceId)}`}>${d.deviceId}</a></td>
              <td><${Dot} status=${d.online ? 'green' : 'red'} /> ${d.online ? 'online' : 'offline'}</td>
              <td title=${fmtTime(d.lastSeenAt)}>${ago(d.lastSeenAt)}</td>
              <td class="wrap">${d.address ?? '—'}</td>
              <td>${d.queued}${d.inFlight ? ' + 1 in flight' : ''}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <${Pager} total=${page.data?.total ?? 0} offset=${offset} limit=${LIMIT} onPage=${setOffset} />
  </section>`;
}

function QueueForm({ deviceId, onDone }) {
  const [error, setError] = useState(null);
  const [queued, setQueued] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const spec = { endpoint: String(f.get('endpoint')), verb: String(f.get('verb')) };
    const body = String(f.get('body') ?? '').trim();
    try {
      if (body) spec.body = JSON.parse(body);
      const r = await post(`/admin/push/devices/${enc(deviceId)}/commands`, spec);
      setQueued(r.id);
      setError(null);
      onDone();
    } catch (err) {
      setError(err instanceof SyntaxError ? `body is not JSON: ${err.message}` : err.message);
    }
  };
  return html`<form id="queue-command" class="inline" onSubmit=${submit}>
    <label>endpoint <input name="endpoint" required placeholder="load_objects" /></label>
    <label
      >verb
      <select name="verb">
        <option>POST</option>
        <option>GET</option>
      </select></label
    >
    <label class="grow">body (JSON) <input name="body" placeholder='{"object":"users"}' /></label>
    <button type="submit">Queue command</button>
    ${queued && html`<span class="ok">queued ${queued}</span>`}
    <${Err} error=${error} />
  </form>`;
}

function Command({ c, onCancel }) {
  const [open, setOpen] = useState(true);
  return html`<tr data-command=${c.id} data-status=${c.status}>
    <td class="mono">${c.id.slice(0, 8)}</td>
    <td>${c.verb ?? 'POST'} ${c.endpoint}</td>
    <td><span class=${`pill ${c.status}`}>${c.status}</span>${c.reason ? ` (${c.reason})` : ''}</td>
    <td>${c.attempts}/${c.maxAttempts}</td>
    <td>${fmtTime(c.createdAt)}</td>
    <td>${fmtTime(c.finishedAt)}</td>
    <td class="wrap">
      ${c.response !== undefined || c.error ? html`<button class="link" onClick=${() => setOpen(!open)}>${open ? 'hide' : 'show'}</button>` : '—'}
      ${open && html`<pre class="answer">${c.error ? `error: ${c.error}\n` : ''}${c.response !== undefined ? JSON.stringify(c.response, null, 2) : ''}</pre>`}
    </td>
    <td>
      ${c.status === 'queued' ? html`<button class="cancel" onClick=${() => onCancel(c.id)}>cancel</button>` : null}
    </td>
  </tr>`;
}

export function PushDevice({ deviceId }) {
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState(null);
  const list = usePoll(
    () => get(`/admin/push/devices/${enc(deviceId)}/commands${qs({ limit: LIMIT, offset })}`),
    [deviceId, offset],
  );
  const dev = usePoll(() => get(`/admin/push/devices${qs({ q: deviceId, limit: 5 })}`), [deviceId]);
  const d = dev.data?.devices.find((x) => x.deviceId === deviceId);
  const cancel = async (id) => {
    try {
      await del(`/admin/push/commands/${enc(id)}`);
      setError(null);
    } catch (e) {
      setError(e.message);
    }
    list.reload();
  };
  const rows = list.data?.commands ?? [];
  return html`<section>
    <p><a href="#/push">‹ devices</a></p>
    <h1>Device <span class="mono">${deviceId}</span></h1>
    ${d && html`<p><${Dot} status=${d.online ? 'green' : 'red'} /> ${d.online ? 'online' : 'offline'} · last seen ${ago(d.lastSeenAt)} · ${d.address ?? 'no address'} · ${d.queued} queued</p>`}
    <${QueueForm} deviceId=${deviceId} onDone=${list.reload} />
    <${Err} error=${error || list.error} />
    <h2>Commands</h2>
    <table id="commands">
      <thead>
        <tr>
          <th>id</th>
          <th>command</th>
          <th>status</th>
          <th>attempts</th>
          <th>queued at</th>
          <th>finished</th>
          <th>answer</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${rows.map((c) => html`<${Command} key=${c.id} c=${c} onCancel=${cancel} />`)}
      </tbody>
    </table>
    <div class="pager">
      <button disabled=${offset === 0} onClick=${() => setOffset(Math.max(0, offset - LIMIT))}>‹ prev</button>
      <button disabled=${rows.length < LIMIT} onClick=${() => setOffset(offset + LIMIT)}>next ›</button>
    </div>
  </section>`;
}
