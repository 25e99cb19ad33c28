/** 10,000 clients reach Patriot over several runs, maxClientsPerRun respected, oldest first, none lost or doubled. */
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientXml } from './helpers/clients.js';
import { importApp, importState, patriotImports, rotated, runImport, sharedIds, xmlFiles } from './helpers/importer.js';
import { Smbd, smbdUnavailable } from './helpers/smbd.js';
import { idsOfCombined } from '../../../src/modules/patriot/import/xml.js';
import { onPostgres, writeXmlRows } from './helpers/xml-db.js';

const unavailable = smbdUnavailable();
if (unavailable) console.warn(`patriot import scale test skipped: ${unavailable}`);

describe.skipIf(unavailable)('patriot import at scale (real smbd)', () => {
  let smbd: Smbd;
  beforeAll(async () => {
    smbd = new Smbd();
    await smbd.start();
  });
  afterAll(async () => {
    await smbd?.destroy();
  });

  it('10,000 clients of 4 keys over 4 runs of at most 3,000', async () => {
    const t = await importApp({ patriot: { smb: smbd.smbConfig(), import: { maxClientsPerRun: 3000 } } });
    try {
      const xmlDir = t.config.patriot.xmlDir;
      const keys = ['Alarm24', 'InstallerX', 'Vakt', 'Sikring'];
      const base = Date.now() / 1000 - 20_000;
      const order: string[] = [];
      const rows: Array<{ key: string; id: number; text: string }> = [];
      for (let i = 0; i < 10_000; i++) {
        const key = keys[i % 4]!;
        const id = 1000 + i;
        order.push(`${id}BASE${10 + (i % 4)}`);
        // on PostgreSQL the per-client XML is a row (helpers/xml-db.ts), queued in the same order
        if (onPostgres) {
          rows.push({ key, id, text: clientXml(id, `BASE${10 + (i % 4)}`) });
          continue;
        }
        const dir = path.join(xmlDir, key);
        if (i < 4) mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `${id}.xml`);
        writeFileSync(file, clientXml(id, `BASE${10 + (i % 4)}`));
        utimesSync(file, base + i, base + i); // a strict age order
      }
      if (onPostgres) writeXmlRows(xmlDir, rows);
      const batches: string[][] = [];
      for (let run = 0; run < 4; run++) {
        patriotImports(smbd.shareDir);
        const r = await runImport(t);
        expect(r.result).toBe('ok');
        expect(r.clients).toBe(run < 3 ? 3000 : 1000);
        expect(r.waiting).toBe(Math.max(0, 10_000 - 3000 * (run + 1)));
        batches.push(sharedIds(smbd.shareDir));
      }
      expect(batches.map((b) => b.length)).toEqual([3000, 3000, 3000, 1000]);
      expect(batches.flat()).toEqual(order); // oldest first, each exactly once
      expect(
        rotated(smbd.shareDir).flatMap((n) => idsOfCombined(readFileSync(path.join(smbd.shareDir, n), 'utf8'))),
      ).toEqual(order.slice(0, 9000));
      expect(xmlFiles(xmlDir)).toEqual([]);
      patriotImports(smbd.shareDir);
      expect((await runImport(t)).result).toBe('empty');
      const state = await importState(t, '?limit=1');
      expect(state.counts).toEqual({ imported: 10_000 });
      expect(
        Object.keys(JSON.parse(readFileSync(path.join(t.config.dataDir, 'client_state.json'), 'utf8'))),
      ).toHaveLength(10_000);
    } finally {
      await t.close();
    }
  });
});
