import { get } from './api.js';
import { html, Err } from './html.js';
import { usePoll } from './hooks.js';

const MODULES = [
  ['push', 'Push — Control iD'],
  ['patriot', 'Patriot'],
  ['sync', 'Sync — NetAlertX'],
  ['conduit', 'Conduit'],
];

async function loadAll() {
  const out = {};
  await Promise.all(
    MODULES.map(async ([m]) => {
      try {
        out[m] = await get(`/admin/${m}/health`);
      } catch (e) {
        out[m] = {
          status: e.status === 404 ? 'off' : 'red',
          reasons: [e.status === 404 ? 'module not enabled' : `health unavailable: ${e.message}`],
          counts: {},
        };
      }
    }),
  );
  return out;
}

// numbers as "<n> name"; one level of nested counts (clients per key, payloads by state) as "<n> name: key"
function counts(c) {
  return Object.entries(c || {}).flatMap(([k, v]) =>
    typeof v === 'number'
      ? [html`<span class="count"><b>${v}</b> ${k}</span>`]
      : v && typeof v === 'object'
        ? Object.entries(v)
            .filter(([, n]) => typeof n === 'number')
            .map(([sub, n]) => html`<span class="count"><b>${n}</b> ${k}: ${sub}</span>`)
        : [],
  );
}

export function Overview() {
  const { data, error } = usePoll(loadAll, []);
  return html`<section>
    <h1>Overview</h1>
    <${Err} error=${error} />
    <div class="tiles">
      ${MODULES.map(([m, title]) => {
        const h = data?.[m];
        return html`<a
          class=${`tile ${h?.status ?? 'loading'}`}
          href=${`#/${m}`}
          data-module=${m}
          data-status=${h?.status ?? 'loading'}
        >
          <h2>${title}</h2>
          <p class="status">${h?.status ?? '…'}</p>
          <ul class="reasons">
            ${(h?.reasons ?? []).map((r) => html`<li>${r}</li>`)}
          </ul>
          <div class="counts">${counts(h?.counts)}</div>
        </a>`;
      })}
    </div>
  </section>`;
}
