import { useState } from 'preact/hooks';
import { get, patch, post, put, qs } from './api.js';
import { Err, fmtTime, html, Pager } from './html.js';
import { usePoll } from './hooks.js';
import { Chart } from './chart.js';

const LIMIT = 50;
const enc = encodeURIComponent;
/** the user plans of the operator API (docs/conduit.md, Plans) */
const PLANS = ['spec', 'standard', 'pro', 'enterprise'];
const RANGES = [
  ['1 h', 3600],
  ['24 h', 86400],
  ['7 d', 7 * 86400],
  ['30 d', 30 * 86400],
  ['1 y', 365 * 86400],
  ['all', 0],
];

function Users() {
  const users = usePoll(() => get('/admin/conduit/users'), []);
  const [shown, setShown] = useState(null);
  const [error, setError] = useState(null);
  const run = async (fn) => {
    try {
      await fn();
      setError(null);
    } catch (e) {
      setError(e.message);
    }
    users.reload();
  };
  const rotate = (name) =>
    run(async () => setShown({ name, token: (await post(`/admin/conduit/users/${enc(name)}/token`)).token }));
  const grant = (name) => (e) => {
    e.preventDefault();
    const site = String(new FormData(e.target).get('site') ?? '').trim();
    if (site) run(() => put(`/admin/conduit/users/${enc(name)}/sites/${enc(site)}`));
    e.target.reset();
  };
  return html`<div>
    <h2>Users</h2>
    <${Err} error=${error || users.error} />
    ${shown && html`<p class="banner amber" id="new-token">New token of ${shown.name} (shown once): <code>${shown.token}</code> <button onClick=${() => setShown(null)}>hide</button></p>`}
    <table id="conduit-users">
      <thead>
        <tr>
          <th>user</th>
          <th>enabled</th>
          <th>HTTP API</th>
          <th>plan</th>
          <th>throttle (s)</th>
          <th>sites</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        ${(users.data ?? []).map(
          (u) =>
            html`<tr data-user=${u.name}>
              <td>${u.name}</td>
              <td>
                <button
                  onClick=${() => run(() => patch(`/admin/conduit/users/${enc(u.name)}`, { enabled: !u.enabled }))}
                >
                  ${u.enabled ? 'enabled — disable' : 'disabled — enable'}
                </button>
              </td>
              <td>
                <button
                  onClick=${() => run(() => patch(`/admin/conduit/users/${enc(u.name)}`, { httpApi: !u.httpApi }))}
                >
                  ${u.httpApi ? 'on' : 'off'}
                </button>
              </td>
              <td>
                <select
                  class="plan"
                  aria-label=${`plan of ${u.name}`}
                  value=${u.plan}
                  onChange=${(e) => run(() => patch(`/admin/conduit/users/${enc(u.name)}`, { plan: e.target.value }))}
                >
                  ${PLANS.map((p) => html`<option value=${p}>${p}</option>`)}
                </select>
              </td>
              <td>${u.throttleSeconds ?? 'default'}</td>
              <td class="wrap">
                ${u.sites.join(', ')}
                <form class="inline small" onSubmit=${grant(u.name)}>
                  <input name="site" placeholder="site" /><button>grant</button>
                </form>
              </td>
              <td><button onClick=${() => rotate(u.name)}>rotate token</button></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function Series({ netid }) {
  const [chid, setChid] = useState(null);
  const [range, setRange] = useState(0);
  const to = Math.floor(Date.now() / 1000);
  const from = range ? to - range : 0;
  const data = usePoll(
    () =>
      get(
        `/admin/conduit/datapoints${qs({ netid, chid: chid ?? 1, from, to: range ? to : 4_102_444_800, limit: 10000 })}`,
      ),
    [netid, chid, range],
  );
  const channels = data.data?.channels ?? [];
  const pts = data.data?.points ?? [];
  return html`<div class="series" id="conduit-series">
    <h3>${netid}</h3>
    <div class="toolbar">
      <label
        >channel
        <select value=${chid ?? 1} onChange=${(e) => setChid(Number(e.target.value))}>
          ${(channels.length ? channels : [{ chid: 1 }]).map((c) => html`<option value=${c.chid}>${c.chid}${c.description ? ` — ${c.description}` : ''}</option>`)}
        </select></label
      >
      <label
        >range
        <select value=${range} onChange=${(e) => setRange(Number(e.target.value))}>
          ${RANGES.map(([l, s]) => html`<option value=${s}>${l}</option>`)}
        </select></label
      >
      <span class="count" id="point-count">${pts.length} datapoint(s)</span>
    </div>
    <${Err} error=${data.error} />
    ${pts.length ? html`<${Chart} points=${pts} label=${`${netid} ch ${chid ?? 1}`} />` : html`<p>no datapoints in this range</p>`}
  </div>`;
}

export function ConduitPage() {
  const [offset, setOffset] = useState(0);
  const [q, setQ] = useState('');
  const [netid, setNetid] = useState(null);
  const health = usePoll(() => get('/admin/conduit/health'), []);
  const devices = usePoll(() => get(`/admin/conduit/devices${qs({ q, limit: LIMIT, offset })}`), [q, offset]);
  const h = health.data;
  return html`<section>
    <h1>Conduit</h1>
    ${h && html`<p class=${`banner ${h.status}`} id="conduit-health">${h.reasons.join(' · ')}</p>`}
    <${Users} />
    <h2>Devices</h2>
    <div class="toolbar">
      <input
        type="search"
        placeholder="search netid or tag"
        value=${q}
        onInput=${(e) => {
          setQ(e.target.value);
          setOffset(0);
        }}
      />
    </div>
    <table id="conduit-devices">
      <thead>
        <tr>
          <th>netid</th>
          <th>site</th>
          <th>tag</th>
          <th>last datapoint</th>
        </tr>
      </thead>
      <tbody>
        ${(devices.data?.devices ?? []).map(
          (d) =>
            html`<tr data-netid=${d.netid}>
              <td><button class="link" onClick=${() => setNetid(d.netid)}>${d.netid}</button></td>
              <td class="wrap">${d.site}</td>
              <td class="wrap">${d.tag ?? ''}</td>
              <td>${fmtTime(d.lastDatapoint)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <${Pager} total=${devices.data?.total ?? 0} offset=${offset} limit=${LIMIT} onPage=${setOffset} />
    ${netid && html`<${Series} key=${netid} netid=${netid} />`}
  </section>`;
}
