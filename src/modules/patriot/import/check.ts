/**
 * The results check of the previous batch: every `<__id>` of the remote clients.xml needs a line
 * in clients_Import_Results.txt that contains that id (as a whole token, so `1BASE11` is not
 * matched by `11BASE11`) and the phrase `Completed processing client`.
 */
export const COMPLETED_PHRASE = 'Completed processing client';

const TOKEN = /[A-Za-z0-9_]+/g;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function checkResults(
  ids: readonly string[],
  resultsText: string | null,
): { completed: string[]; missing: string[] } {
  const lines = (resultsText ?? '').split(/\r?\n/).filter((l) => l.includes(COMPLETED_PHRASE));
  const tokens = new Set<string>();
  for (const l of lines) for (const m of l.matchAll(TOKEN)) tokens.add(m[0]);
  const completed: string[] = [];
  const missing: string[] = [];
  for (const id of new Set(ids)) {
    let ok: boolean;
    if (/^[A-Za-z0-9_]+$/.test(id)) ok = tokens.has(id);
    else {
      const re = new RegExp(`(?<![A-Za-z0-9_])${escapeRe(id)}(?![A-Za-z0-9_])`);
      ok = lines.some((l) => re.test(l));
    }
    (ok ? completed : missing).push(id);
  }
  return { completed, missing };
}
