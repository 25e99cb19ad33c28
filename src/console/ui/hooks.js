import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export const POLL_MS = 3000;

/** Loads `load()` now and every POLL_MS while mounted; `reload()` loads at once (after an action). */
export function usePoll(load, deps) {
  const [state, setState] = useState({ data: null, error: null });
  const seq = useRef(0);
  const run = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const data = await load();
      if (mine === seq.current) setState({ data, error: null });
    } catch (e) {
      if (mine === seq.current) setState((s) => ({ data: s.data, error: e.message }));
    }
  }, deps);
  useEffect(() => {
    run();
    const t = setInterval(run, POLL_MS);
    return () => {
      clearInterval(t);
      seq.current++;
    };
  }, [run]);
  return { ...state, reload: run };
}
