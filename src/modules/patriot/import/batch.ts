/**
 * Step one of a run: claim per-client files oldest first, parse them, and collect at most
 * maxClientsPerRun distinct `__id`s; files that cannot be parsed are moved to rejected/.
 */
import { mkdir, readFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import { claim, restore, scanXmlFiles, type Claim } from './claims.js';
import type { Row, RunContext, RunReport } from './context.js';
import { parseClientXml, XmlRejectError } from './xml.js';

/** Per-client files larger than this are rejected unread. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Claims and parses files oldest first until maxClientsPerRun clients are collected. */
export async function collectBatch(
  ctx: RunContext,
  runId: string,
  report: RunReport,
  onClaim: (c: Claim) => void,
): Promise<Map<string, Row>> {
  const max = ctx.config.patriot.import.maxClientsPerRun;
  const files = await scanXmlFiles(ctx.config.patriot.xmlDir, ctx.scanCache);
  const rows = new Map<string, Row>();
  let i = 0;
  while (i < files.length && rows.size < max) {
    const slice = files.slice(i, i + Math.min(256, max - rows.size));
    i += slice.length;
    const got = await Promise.all(
      slice.map(async (f) => {
        const c = await claim(f, runId);
        if (!c) return null;
        onClaim(c);
        c.version = c.clientId === null ? null : await ctx.store.versionOf(c.keyName, c.clientId);
        // a per-client file is a few kB; a huge one is not read into memory
        const size = (await stat(c.claimed)).size;
        return { c, text: size > MAX_FILE_BYTES ? null : await readFile(c.claimed, 'utf8'), size };
      }),
    );
    for (const g of got) {
      if (!g) continue;
      let parsed;
      try {
        if (g.text === null) throw new XmlRejectError(`file too large (${g.size} bytes, limit ${MAX_FILE_BYTES})`);
        parsed = parseClientXml(g.text);
      } catch (e) {
        if (!(e instanceof XmlRejectError)) throw e;
        await reject(ctx, runId, g.c, e.message, report);
        continue;
      }
      const fresh = parsed.filter((r) => !rows.has(r.id)).length;
      if (rows.size > 0 && rows.size + fresh > max) {
        await restore(g.c.claimed, g.c.file); // does not fit this batch
        g.c.claimed = '';
        report.waiting++;
        continue;
      }
      for (const r of parsed) rows.set(r.id, { id: r.id, xml: r.xml, claim: g.c }); // oldest first: a later duplicate wins
    }
  }
  report.waiting += files.length - i;
  return rows;
}

/** Where a rejected file is kept: `rejected/<key>/<client>.<runId>.xml` under the data dir. */
export function rejectedPath(ctx: RunContext, runId: string, c: Claim): string {
  return ctx.local(path.join('rejected', path.dirname(c.rel), `${path.basename(c.rel, '.xml')}.${runId}.xml`));
}

async function reject(ctx: RunContext, runId: string, c: Claim, reason: string, report: RunReport): Promise<void> {
  const target = rejectedPath(ctx, runId, c);
  await mkdir(path.dirname(target), { recursive: true });
  await rename(c.claimed, target);
  c.claimed = '';
  await reportRejected(ctx, c, reason, target, report);
}

/** A rejected file counted, logged (both text logs and the log) and notified. */
export async function reportRejected(
  ctx: RunContext,
  c: Claim,
  reason: string,
  target: string,
  report: RunReport,
): Promise<void> {
  report.rejected++;
  report.rejected_files.push(c.rel);
  ctx.metrics?.rejected.inc();
  const text = `Rejected ${c.rel}: ${reason}; moved to ${path.relative(ctx.config.dataDir, target)}`;
  await ctx.errorLog.write('ERROR', text);
  await ctx.combineLog.write('ERROR', text);
  ctx.deps.log.warn({ file: c.rel, reason }, 'patriot import: rejected a per-client XML file');
  ctx.deps.notify('alert', `Patriot import: ${text}`);
}
