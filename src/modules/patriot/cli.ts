/**
 * `fieldhub patriot import-json FILE --key NAME [--no-xml]`: loads clients exported from the original
 * service, in the shapes of the API's GET responses (GET /clients; zones and users as a list or as an
 * object keyed by number). FILE holds one client object or a list of them. Everything is validated
 * first and written in one transaction; a re-run of the same file changes nothing ("unchanged").
 * The XML of every created or changed client is written afterwards (unless --no-xml).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { zodIssueText } from '../../core/errors.js';
import type { CliCommand } from '../../core/module.js';
import { clientId, infoDefaults, infoPut, putZoneBody, userBody, type User } from './schemas.js';
import { PatriotService } from './service.js';
import { orderInfo, orderUser, type ClientRecord, type PatriotStore } from './store.js';
import { readClient } from './store-pg.js';
import { patriotPg } from './writes-pg.js';
import { ExportDirError, exportDir, writeXmlTree, xmlFromDir, xmlFromPg } from './xml-export.js';

const listOrMap = <T extends z.ZodType>(item: T) =>
  z.union([z.array(item), z.record(z.string(), item).transform((o) => Object.values(o))]).default([]);

const zoneItem = z.object({
  Zone_No: putZoneBody.shape.zone_id,
  Zone_area: putZoneBody.shape.Zone_area,
  ModuleNo: putZoneBody.shape.ModuleNo,
});
const exported = z.object({
  client_id: clientId,
  info: infoPut,
  zones: listOrMap(zoneItem),
  users: listOrMap(userBody),
});
const exportFile = z.union([z.array(exported), exported.transform((c) => [c])]);

export const importJson: CliCommand = {
  usage: 'FILE --key NAME [--no-xml]',
  summary: 'load clients, zones and users exported from the original service (JSON) for one key',
  async run(args, ctx) {
    const file = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--key');
    const ki = args.indexOf('--key');
    const keyName = ki >= 0 ? args[ki + 1] : undefined;
    if (!file || !keyName) {
      ctx.out(`usage: fieldhub patriot import-json ${importJson.usage}`);
      return 2;
    }
    const svc = new PatriotService(ctx.config, ctx.pg ?? ctx.store.db, ctx.log, { watchKeys: false });
    if (!svc.keys.get(keyName)) {
      ctx.out(`import-json: key "${keyName}" is not in ${svc.keys.file}`);
      return 2;
    }
    let data: z.output<typeof exportFile>;
    try {
      const r = exportFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      if (!r.success) {
        ctx.out(`import-json: ${file}: ${zodIssueText(r.error)}; nothing imported`);
        return 1;
      }
      data = r.data;
    } catch (e) {
      ctx.out(`import-json: cannot read ${file}: ${(e as Error).message}; nothing imported`);
      return 1;
    }
    const ids = new Set<number>();
    for (const c of data) {
      if (ids.has(c.client_id)) {
        ctx.out(`import-json: client ${c.client_id} appears twice; nothing imported`);
        return 1;
      }
      ids.add(c.client_id);
    }
    const counts = { created: 0, updated: 0, unchanged: 0, zones: 0, users: 0 };
    const touched: number[] = [];
    /** what one client of the file needs, given what the store holds */
    const plan = (c: (typeof data)[number], before: ClientRecord | undefined) => {
      const info = orderInfo({ ...infoDefaults(), ...c.info });
      const zones = [...c.zones].sort((a, b) => a.Zone_No - b.Zone_No);
      const users = (c.users as User[]).map(orderUser).sort((a, b) => a.UserNo - b.UserNo);
      const same =
        before &&
        JSON.stringify(before.info) === JSON.stringify(info) &&
        JSON.stringify(before.zones) === JSON.stringify(zones) &&
        JSON.stringify(before.users) === JSON.stringify(users);
      counts.zones += zones.length;
      counts.users += users.length;
      if (same) counts.unchanged++;
      else {
        if (before) counts.updated++;
        else counts.created++;
        touched.push(c.client_id);
      }
      return same ? undefined : { info, zones, users };
    };
    if (ctx.pg) {
      await ctx.pg.tx(async (conn) => {
        const p = patriotPg(conn);
        for (const c of data) {
          const before = await readClient(p.sql, keyName, c.client_id);
          const w = plan(c, before);
          if (!w) continue;
          if (before) {
            await p.sql('DELETE FROM patriot_clients WHERE key_name = $1 AND client_id = $2', [keyName, c.client_id]);
            await p.sql('DELETE FROM patriot_client_state WHERE key_name = $1 AND client_id = $2', [
              keyName,
              c.client_id,
            ]);
          }
          await p.putInfo(keyName, c.client_id, w.info);
          for (const z of w.zones)
            await p.sql(
              'INSERT INTO patriot_zones (key_name, client_id, zone_no, zone_area, module_no) VALUES ($1, $2, $3, $4, $5)',
              [keyName, c.client_id, z.Zone_No, z.Zone_area, z.ModuleNo],
            );
          for (const u of w.users)
            await p.sql('INSERT INTO patriot_users (key_name, client_id, user_no, data) VALUES ($1, $2, $3, $4)', [
              keyName,
              c.client_id,
              u.UserNo,
              JSON.stringify(u),
            ]);
        }
      });
    } else {
      const st = svc.store as PatriotStore;
      st.transaction(() => {
        for (const c of data) {
          const before = st.getClient(keyName, c.client_id);
          const w = plan(c, before);
          if (!w) continue;
          if (before) st.deleteClient(keyName, c.client_id);
          st.putInfo(keyName, c.client_id, w.info);
          for (const z of w.zones) st.putZone(keyName, c.client_id, z);
          for (const u of w.users) st.insertUser(keyName, c.client_id, u);
        }
      });
    }
    if (!args.includes('--no-xml')) for (const id of touched) await svc.writeClientXml(keyName, id);
    await svc.close();
    ctx.out(
      `import-json: key ${keyName}: ${counts.created} clients created, ${counts.updated} updated, ${counts.unchanged} unchanged ` +
        `(${counts.zones} zones, ${counts.users} users in the file)${args.includes('--no-xml') ? '; no XML written' : `; ${touched.length} XML files written`}`,
    );
    return 0;
  },
};

/** `fieldhub patriot export-xml DIR`: the per-client XML as the SQLite mode's files `DIR/<key>/<id>.xml`, from either driver. */
export const exportXml: CliCommand = {
  usage: 'DIR',
  summary: 'write the per-client XML files (<key>/<client>.xml, as the SQLite mode keeps them) into DIR',
  async run(args, ctx) {
    if (args.length !== 1) {
      ctx.out(`usage: fieldhub patriot export-xml ${exportXml.usage}`);
      return 2;
    }
    let dir: string;
    try {
      dir = await exportDir(args[0], ctx.config.patriot.xmlDir);
    } catch (e) {
      if (!(e instanceof ExportDirError)) throw e;
      ctx.out(e.message);
      return 2;
    }
    const entries = ctx.pg ? await xmlFromPg(ctx.pg) : await xmlFromDir(ctx.config.patriot.xmlDir);
    const n = await writeXmlTree(dir, entries);
    ctx.out(`export-xml: ${n} client XML file(s) written to ${dir}`);
    return 0;
  },
};
