import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { login, logout, restore, whenSignedOut } from './api.js';
import { html, Err } from './html.js';
import { Overview } from './overview.js';
import { PushPage, PushDevice } from './push.js';
import { PatriotPage, PatriotKey } from './patriot.js';
import { SyncPage } from './sync.js';
import { ConduitPage } from './conduit.js';

function useHash() {
  const [hash, setHash] = useState(location.hash.slice(1) || '/');
  useEffect(() => {
    const on = () => setHash(location.hash.slice(1) || '/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function route(hash) {
  const parts = hash.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'push' && parts[1]) return html`<${PushDevice} deviceId=${parts[1]} />`;
  if (parts[0] === 'push') return html`<${PushPage} />`;
  if (parts[0] === 'patriot' && parts[1]) return html`<${PatriotKey} keyName=${parts[1]} />`;
  if (parts[0] === 'patriot') return html`<${PatriotPage} />`;
  if (parts[0] === 'sync') return html`<${SyncPage} />`;
  if (parts[0] === 'conduit') return html`<${ConduitPage} />`;
  return html`<${Overview} />`;
}

function SignIn({ onIn }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const token = new FormData(e.target).get('token');
    try {
      await login(String(token));
      onIn();
    } catch (err) {
      setError(err.message);
    }
  };
  return html`<main class="signin">
    <h1>fieldhub</h1>
    <form onSubmit=${submit} id="signin">
      <label
        >Admin token <input name="token" type="password" autocomplete="current-password" required autofocus
      /></label>
      <button type="submit">Sign in</button>
      <${Err} error=${error} />
      <p class="hint">
        The token is in <code>admin.token</code> of the data directory (<code>cat data/admin.token</code>) unless one is
        configured.
      </p>
    </form>
  </main>`;
}

function App() {
  const [state, setState] = useState('checking');
  const hash = useHash();
  useEffect(() => {
    whenSignedOut(() => setState('out'));
    restore().then((ok) => setState(ok ? 'in' : 'out'));
  }, []);
  if (state === 'checking') return null;
  if (state === 'out') return html`<${SignIn} onIn=${() => setState('in')} />`;
  const nav = (to, label) =>
    html`<a href=${`#${to}`} class=${hash === to || (to !== '/' && hash.startsWith(to)) ? 'active' : ''}>${label}</a>`;
  return html`<div class="shell">
    <header>
      <strong class="brand">fieldhub</strong>
      <nav>
        ${nav('/', 'Overview')} ${nav('/push', 'Push')} ${nav('/patriot', 'Patriot')} ${nav('/sync', 'Sync')}
        ${nav('/conduit', 'Conduit')}
      </nav>
      <button
        id="logout"
        onClick=${async () => {
          await logout();
          setState('out');
        }}
      >
        Sign out
      </button>
    </header>
    <main>${route(hash)}</main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app'));
