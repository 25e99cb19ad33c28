/**
 * Steps (1) and (2) of the upload: download the remote clients.xml and Patriot's results file,
 * rotate clients.xml to clients_YYYYMMDD_HHMMSS.xml, and only then apply the results check (so a
 * batch is checked once): confirmed clients become imported, the others import_failed, regenerated
 * until maxImportAttempts, then reported.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { checkResults } from './check.js';
import type { Claim } from './claims.js';
import {
  FETCHED_RESULTS,
  FETCHED_XML,
  REMOTE_RESULTS,
  REMOTE_XML,
  WORK_DIR,
  type RunContext,
  type RunReport,
} from './context.js';
import { stampTime } from './logs.js';
import { TransportError, type RemoteSession } from './transport.js';
import { idsOfCombined } from './xml.js';
import type { ClientStatus } from './store.js';

/** Steps (1) and (2): the results check of the remote clients.xml, then its rotation. */
export async function checkAndRotate(
  ctx: RunContext,
  s: RemoteSession,
  report: RunReport,
  claims: Claim[],
): Promise<void> {
  await mkdir(ctx.local(WORK_DIR), { recursive: true });
  if (!(await s.get(REMOTE_XML, FETCHED_XML))) return;
  const hasResults = await s.get(REMOTE_RESULTS, FETCHED_RESULTS);
  let ids: string[] | null = null;
  try {
    ids = idsOfCombined(await readFile(ctx.local(FETCHED_XML), 'utf8'));
  } catch (e) {
    await ctx.errorLog.write(
      'ERROR',
      `Remote ${REMOTE_XML} could not be read for the results check: ${(e as Error).message}`,
    );
  }
  const results = hasResults ? decodeResults(await readFile(ctx.local(FETCHED_RESULTS))) : null;
  // (2) rotation first: the check is applied only once its clients.xml has left the share
  const stamp = stampTime();
  let gone = false;
  for (let n = 0; n < 100 && !report.rotated_as && !gone; n++) {
    const name = n === 0 ? `clients_${stamp}.xml` : `clients_${stamp}_${n}.xml`;
    const r = await s.rename(REMOTE_XML, name);
    if (r === 'ok') report.rotated_as = name;
    else if (r === 'missing') gone = true; // taken by the importer meanwhile
  }
  if (!report.rotated_as && !gone)
    throw new TransportError(
      `cannot rename the remote ${REMOTE_XML}: clients_${stamp}.xml and 99 alternatives exist`,
      'EXISTS',
    );
  if (report.rotated_as) await ctx.combineLog.write('INFO', `Renamed remote ${REMOTE_XML} to ${report.rotated_as}`);
  if (ids) await applyCheck(ctx, ids, results, report, claims);
}

async function applyCheck(
  ctx: RunContext,
  ids: string[],
  results: string | null,
  report: RunReport,
  claims: Claim[],
): Promise<void> {
  const { completed, missing } = checkResults(ids, results);
  report.checked = completed.length + missing.length;
  report.check_failed = missing.length;
  report.failed_ids = missing;
  const resolve = async (id: string) => (await ctx.store.clientOf(id)) ?? ctx.deps.resolveId?.(id);
  const known = async (xs: string[]) => {
    const out = [];
    for (const id of xs) out.push({ id, c: await resolve(id) });
    return out;
  };
  const ok = (await known(completed)).flatMap((x) => (x.c ? [x.c] : []));
  const bad = await known(missing);
  const failed = await ctx.write<
    Array<{ key_name: string; client_id: number; attempts: number; status: ClientStatus }>
  >('patriot.import.applyCheck', { completed: ok, failed: bad.flatMap((x) => (x.c ? [x.c] : [])) });
  if (missing.length === 0) {
    await ctx.combineLog.write(
      'INFO',
      `Results check: all ${completed.length} client(s) of the previous batch completed`,
    );
    return;
  }
  ctx.metrics?.failed.inc(missing.length);
  const why =
    results === null ? `${REMOTE_RESULTS} not found` : `no "Completed processing client" line in ${REMOTE_RESULTS}`;
  await ctx.errorLog.write('ERROR', ...missing.map((id) => `${id}: import not confirmed (${why})`));
  await ctx.combineLog.write(
    'WARNING',
    `Results check: ${missing.length} of ${report.checked} client(s) not confirmed; see import_errors.log`,
  );
  const inBatch = new Set(claims.map((c) => `${c.keyName}\0${c.clientId}`));
  const maxAttempts = ctx.config.patriot.import.maxImportAttempts;
  const byKey = new Map(bad.filter((x) => x.c).map((x) => [`${x.c!.key_name}\0${x.c!.client_id}`, x.id]));
  const notes: string[] = [];
  for (const f of failed) {
    const key = `${f.key_name}\0${f.client_id}`;
    const id = byKey.get(key) ?? `${f.client_id}`;
    if (f.attempts >= maxAttempts) {
      report.gave_up_ids.push(id);
      continue;
    }
    if (inBatch.has(key) || f.status === 'changed') continue; // a newer version is on its way already
    let done = false;
    try {
      done = ctx.deps.regenerate ? await ctx.deps.regenerate(f.key_name, f.client_id) : false;
    } catch (e) {
      ctx.deps.log.error(
        { err: e, key: f.key_name, client: f.client_id },
        'patriot import: regenerating a failed client failed',
      );
    }
    if (!done) notes.push(`${id}: could not regenerate the client's XML (client deleted or no writer available)`);
  }
  for (const x of bad) if (!x.c) notes.push(`${x.id}: not a client of any known batch or key; cannot retry`);
  if (notes.length) await ctx.errorLog.write('ERROR', ...notes);
  if (report.gave_up_ids.length) {
    const text = `Patriot did not import ${report.gave_up_ids.length} client(s) after ${maxAttempts} attempts: ${report.gave_up_ids.slice(0, 20).join(', ')}${report.gave_up_ids.length > 20 ? ', ...' : ''}`;
    await ctx.errorLog.write('ERROR', text);
    ctx.deps.notify('alert', text);
  }
}

/** clients_Import_Results.txt as text: UTF-16 with a BOM (Windows tools), else UTF-8. */
export function decodeResults(buf: Buffer): string {
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) {
    const b = Buffer.from(buf.subarray(2));
    b.swap16();
    return b.toString('utf16le');
  }
  return buf.toString('utf8');
}
