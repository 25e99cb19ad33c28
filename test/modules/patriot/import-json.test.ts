/** `fieldhub patriot import-json FILE --key NAME`: one transaction, reports what it did, re-running is harmless. */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { openStore, openStores } from '../../../src/app.js';
import type { Store } from '../../../src/core/db.js';
import type { Config } from '../../../src/core/config.js';
import patriot from '../../../src/modules/patriot/index.js';
import { testConfig, tempDir } from '../../helpers/app.js';
import { INFO, KEY_A, keysJson, USER } from './helpers.js';
import { onPostgres, psql, readXml, xmlExists } from './helpers/xml-db.js';

let dataDir: string;
let config: Config;
beforeEach(() => {
  dataDir = tempDir('fieldhub-patriot-cli-');
  writeFileSync(path.join(dataDir, 'keys.json'), JSON.stringify(keysJson()));
  config = testConfig({}, dataDir);
  return () => rmSync(dataDir, { recursive: true, force: true });
});

async function cli(args: string[]): Promise<{ code: number; out: string[] }> {
  const stores = await openStores(config, [patriot]);
  const out: string[] = [];
  try {
    const code = await patriot.commands!['import-json']!.run(args, {
      config,
      store: stores.store as Store,
      pg: stores.pg,
      log: pino({ level: 'silent' }),
      out: (l) => out.push(l),
    });
    return { code, out };
  } finally {
    await stores.close();
  }
}

const exported = [
  // GET /clients shape: zones and users keyed by number
  {
    client_id: 9998,
    info: INFO,
    zones: { '1': { Zone_No: 1, Zone_area: 'Inngang', ModuleNo: 0 } },
    users: { '1': USER },
  },
  // list shape, defaults for omitted fields
  { client_id: 42, info: { Name: 'Kari' }, zones: [{ Zone_No: 3, Zone_area: 'Kjeller', ModuleNo: 0 }], users: [] },
];

describe('patriot import-json', () => {
  it('imports, reports, writes XML; a re-run changes nothing; the API then serves the clients', async () => {
    const file = path.join(dataDir, 'export.json');
    writeFileSync(file, JSON.stringify(exported));
    const first = await cli([file, '--key', 'Alarm24']);
    expect(first.code).toBe(0);
    expect(first.out.join('\n')).toMatch(
      /2 clients created, 0 updated, 0 unchanged \(2 zones, 1 users in the file\); 2 XML files written/,
    );
    const xml = path.join(config.patriot.xmlDir, 'Alarm24', '9998.xml');
    expect(readXml(xml)).toContain('<__id>9998BASE11</__id>');
    const again = await cli([file, '--key', 'Alarm24']);
    expect(again.out.join('\n')).toMatch(/0 clients created, 0 updated, 2 unchanged/);
    // a changed export updates just that client
    writeFileSync(file, JSON.stringify([{ ...exported[0], info: { ...INFO, Location: 'Ny' } }, exported[1]]));
    expect((await cli([file, '--key', 'Alarm24'])).out.join('\n')).toMatch(
      /0 clients created, 1 updated, 1 unchanged.*1 XML files written/,
    );

    const api = await (
      await import('../../helpers/app.js')
    ).makeApp({}, { modules: [patriot], dataDir, startScheduler: false, keepDataDir: true });
    try {
      const r = await api.app.inject({
        url: '/clients',
        headers: { authorization: `Bearer ${KEY_A}`, 'x-client-id': '9998' },
      });
      expect(r.json()).toEqual({
        client_id: 9998,
        info: { ...INFO, Location: 'Ny' },
        zones: { '1': exported[0]!.zones['1' as never] },
        users: { '1': USER },
      });
      const k = await api.app.inject({
        url: '/clients/zones',
        headers: { authorization: `Bearer ${KEY_A}`, 'x-client-id': '42' },
      });
      expect(k.json()).toEqual({ client_id: 42, zones: [{ Zone_No: 3, Zone_area: 'Kjeller', ModuleNo: 0 }] });
    } finally {
      await api.app.close();
    }
  });

  it('an invalid export imports nothing and says where; an unknown key is refused', async () => {
    const file = path.join(dataDir, 'bad.json');
    writeFileSync(
      file,
      JSON.stringify([exported[1], { client_id: 7, info: { Name: 'x' }, users: [{ ...USER, UserNo: 199 }] }]),
    );
    const r = await cli([file, '--key', 'Alarm24']);
    expect(r.code).toBe(1);
    expect(r.out.join('\n')).toMatch(/1\.users\.0\.UserNo: .*reserved.*nothing imported/);
    expect((await cli([file, '--key', 'Nobody'])).code).toBe(2);
    expect((await cli([file])).code).toBe(2);
    if (onPostgres) {
      expect(psql(dataDir, 'SELECT count(*) FROM patriot_clients; SELECT count(*) FROM patriot_client_xml;')).toBe(
        '0\n0\n',
      );
    } else {
      const store = openStore(config, [patriot]);
      expect(store.db.prepare('SELECT count(*) AS n FROM patriot_clients').get()).toEqual({ n: 0 });
      store.close();
    }
    expect(existsSync(path.join(config.patriot.xmlDir, 'Alarm24'))).toBe(false);
  });

  it('--no-xml imports without writing files', async () => {
    const file = path.join(dataDir, 'export.json');
    writeFileSync(file, JSON.stringify(exported[1]));
    const r = await cli([file, '--key', 'InstallerX', '--no-xml']);
    expect(r.out.join('\n')).toMatch(/1 clients created.*no XML written/);
    expect(xmlExists(path.join(config.patriot.xmlDir, 'InstallerX', '42.xml'))).toBe(false);
  });
});
