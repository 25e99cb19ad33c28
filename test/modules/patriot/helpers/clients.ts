/** Per-client XML files as the API writes them (<xmlDir>/<key>/<client>.xml), for tests and the bench. */
import { utimesSync } from 'node:fs';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import { fsyncDir } from '../../../../src/core/files.js';
import { writeXmlRow } from './xml-db.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function clientXml(clientId: number, port: string, name = `Kunde ${clientId} Bjørnøya Æsa`): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<Clients>
  <Row>
    <__id>${clientId}${port}</__id>
    <Name>${esc(name)}</Name>
    <Address>Storgata ${clientId % 200}, 1607 Fredrikstad</Address>
    <Installer>Østfold Sikkerhetsservice AS</Installer>
    <UseGlobCallOuts>True</UseGlobCallOuts>
    <Zones>
      <Zone><Zone_No>1</Zone_No><Zone_area>Stue &amp; kjøkken</Zone_area><ModuleNo>0</ModuleNo></Zone>
    </Zones>
    <Users>
      <User><User_Name>Installer</User_Name><Email>post@example.no</Email><UserNo>199</UserNo><CallOrder>0</CallOrder><Type>N</Type></User>
    </Users>
  </Row>
</Clients>
`;
}

/** Writes one client file; `ageS` seconds in the past sets its mtime (oldest-first order). */
export function writeClient(
  xmlDir: string,
  key: string,
  clientId: number,
  port: string,
  opts: { name?: string; ageS?: number; text?: string } = {},
): string {
  const file = path.join(xmlDir, key, `${clientId}.xml`);
  // on PostgreSQL the per-client XML is a row of the data dir's database (helpers/xml-db.ts)
  if (writeXmlRow(file, opts.text ?? clientXml(clientId, port, opts.name), opts.ageS)) return file;
  // as the API writes it: temp name, fsync, rename, fsync of the folder
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic.sync(file, opts.text ?? clientXml(clientId, port, opts.name), { fsync: true });
  fsyncDir(path.dirname(file));
  if (opts.ageS !== undefined) {
    const t = new Date(Date.now() - opts.ageS * 1000);
    utimesSync(file, t, t);
  }
  return file;
}
