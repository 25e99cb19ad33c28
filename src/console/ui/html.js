import { h } from 'preact';
import htm from 'htm';

// htm templates build vnodes; Preact sets text as text nodes, so every value shown is escaped
export const html = htm.bind(h);

export const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
export function ago(iso) {
  if (!iso) return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

export function Pager({ total, offset, limit, onPage }) {
  const last = Math.max(0, Math.ceil(total / limit) - 1);
  const page = Math.floor(offset / limit);
  return html`<div class="pager">
    <button disabled=${page === 0} onClick=${() => onPage(Math.max(0, offset - limit))}>‹ prev</button>
    <span class="pageinfo"
      >${total === 0 ? 'none' : `${offset + 1}–${Math.min(total, offset + limit)} of ${total}`}</span
    >
    <button disabled=${page >= last} onClick=${() => onPage(offset + limit)}>next ›</button>
  </div>`;
}

export function Err({ error }) {
  return error ? html`<p class="error" role="alert">${error}</p>` : null;
}

export function Dot({ status }) {
  return html`<span class=${`dot ${status}`} aria-label=${status}></span>`;
}
