import { useState } from 'preact/hooks';
import { get, post, qs } from './api.js';
import { Err, fmtTime, html, Pager } from './html.js';
import { usePoll } from './hooks.js';

const LIMIT = 50;
const enc = encodeURIComponent;

function Runs({ runs }) {
  return html`<table id="import-runs">
    <thead>
      <tr>
        <th>started</th>
        <th>trigger</th>
        <th>result</th>
        <th>clients</th>
        <th>bytes</th>
        <th>rejected</th>
        <th>checked</th>
        <th>file</th>
        <th>error</th>
      </tr>
    </thead>
    <tbody>
      ${runs.map(
        (r) =>
          html`<tr data-run=${r.run_id} data-result=${r.result}>
            <td>${fmtTime(r.started_at)}</td>
            <td>${r.trigger}</td>
            <td><span class=${`pill ${r.result}`}>${r.result}</span></td>
            <td>${r.clients}</td>
            <td>${r.bytes}</td>
            <td>${r.rejected}</td>
            <td>${r.checked}${r.check_failed ? ` (${r.check_failed} failed)` : ''}</td>
            <td class="wrap">${r.rotated_as ?? '—'}</td>
            <td class="wrap">${r.error ?? ''}</td>
          </tr>`,
      )}
    </tbody>
  </table>`;
}

export function PatriotPage() {
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState(null);
  const [error, setError] = useState(null);
  const health = usePoll(() => get('/admin/patriot/health'), []);
  const keys = usePoll(() => get('/admin/patriot/keys'), []);
  const runs = usePoll(() => get('/admin/patriot/import-runs?limit=20'), []);
  const runNow = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await post('/admin/patriot/import-runs');
      setMsg(`run ${r.run?.result ?? 'finished'}${r.skipped ? ' (one was already running)' : ''}`);
    } catch (e) {
      setError(`import run: ${e.message}`);
    }
    setBusy(false);
    runs.reload();
    health.reload();
  };
  const h = health.data;
  return html`<section>
    <h1>Patriot</h1>
    ${h && html`<p class=${`banner ${h.status}`} id="patriot-health">${h.reasons.join(' · ')}</p>`}
    ${h && html`<p>last run: ${h.lastRun ? `${h.lastRun.result} at ${fmtTime(h.lastRun.finished_at)}` : 'none'} · next run: ${fmtTime(h.nextRunAt)}</p>`}
    <div class="toolbar">
      <button id="run-import" disabled=${busy} onClick=${runNow}>${busy ? 'Running…' : 'Run the import now'}</button>
      ${msg && html`<span class="ok" id="run-result">${msg}</span>`}
    </div>
    <${Err} error=${error || keys.error} />
    <h2>Keys</h2>
    <table id="patriot-keys">
      <thead>
        <tr>
          <th>key</th>
          <th>enabled</th>
          <th>valid to</th>
          <th>port</th>
          <th>installer</th>
          <th>clients</th>
        </tr>
      </thead>
      <tbody>
        ${(keys.data?.keys ?? []).map(
          (k) =>
            html`<tr>
              <td><a href=${`#/patriot/${enc(k.keyName)}`}>${k.keyName}</a></td>
              <td>${k.enabled ? 'yes' : 'no'}</td>
              <td>${k.validTo ?? 'never'}${k.expired ? ' (expired)' : ''}</td>
              <td>${k.port}</td>
              <td class="wrap">${k.installerName}</td>
              <td>${k.clients}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <h2>Import runs</h2>
    <${Runs} runs=${runs.data?.runs ?? []} />
  </section>`;
}

export function PatriotKey({ keyName }) {
  const [q, setQ] = useState('');
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState(null);
  const page = usePoll(
    () => get(`/admin/patriot/keys/${enc(keyName)}/clients${qs({ q, status, limit: LIMIT, offset })}`),
    [keyName, q, status, offset],
  );
  const resend = async (id) => {
    try {
      await post(`/admin/patriot/keys/${enc(keyName)}/clients/${id}/resend`);
      setError(null);
    } catch (e) {
      setError(e.message);
    }
    page.reload();
  };
  return html`<section>
    <p><a href="#/patriot">‹ Patriot</a></p>
    <h1>Clients of <span>${keyName}</span></h1>
    <div class="toolbar">
      <input
        type="search"
        placeholder="search id or name"
        value=${q}
        onInput=${(e) => {
          setQ(e.target.value);
          setOffset(0);
        }}
      />
      <select
        value=${status}
        onChange=${(e) => {
          setStatus(e.target.value);
          setOffset(0);
        }}
      >
        <option value="">any state</option>
        <option>changed</option>
        <option>pending_import</option>
        <option>imported</option>
        <option>import_failed</option>
      </select>
    </div>
    <${Err} error=${error || page.error} />
    <table id="patriot-clients">
      <thead>
        <tr>
          <th>client</th>
          <th>name</th>
          <th>import state</th>
          <th>last batch</th>
          <th>attempts</th>
          <th>updated</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${(page.data?.clients ?? []).map(
          (c) =>
            html`<tr data-client=${c.clientId}>
              <td>${c.clientId}</td>
              <td class="wrap">${c.name ?? ''}</td>
              <td><span class=${`pill ${c.status}`}>${c.status ?? '—'}</span></td>
              <td class="wrap">${c.lastBatch ?? '—'}</td>
              <td>${c.attempts ?? 0}</td>
              <td>${fmtTime(c.updatedAt)}</td>
              <td><button onClick=${() => resend(c.clientId)}>send again</button></td>
            </tr>`,
        )}
      </tbody>
    </table>
    <${Pager} total=${page.data?.total ?? 0} offset=${offset} limit=${LIMIT} onPage=${setOffset} />
  </section>`;
}
