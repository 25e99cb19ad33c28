/**
 * Patriot import pipeline:
 *  1. combine 10,000 per-client XML files into batches (maxClientsPerRun 300, the default, and one
 *     batch of 10,000), each run claiming, parsing, writing clients.xml, "uploading" through the
 *     directory transport and dropping the claimed files; clients/s, beside a bare combine of the
 *     same files (read, cut the Row out, write one file) measured in the same run;
 *  2. one upload of a 5 MB clients.xml to a local smbd through the smbclient transport (put to
 *     clients.xml.part + rename, auth file written and removed) beside a plain `smbclient put` of
 *     the same file measured in the same run; seconds and MB/s, ratio = transport / plain.
 *   node --import tsx bench/patriot-import.ts
 * Part 2 is skipped with a message when smbd is not installed (Debian packages samba, smbclient).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { SmbclientTransport } from '../src/modules/patriot/import/smbclient.js';
import { ImportService } from '../src/modules/patriot/import/service.js';
import { clientXml } from '../test/modules/patriot/helpers/clients.js';
import { Smbd, smbdUnavailable } from '../test/modules/patriot/helpers/smbd.js';
import { tempDir } from '../test/helpers/app.js';
import { isMain, printTable, type BenchRow } from './lib.js';

const CLIENTS = 10_000;
const quiet = {
  info() {},
  warn() {},
  error(o: object, m: string) {
    console.error(m, o);
  },
};

function setup(maxClientsPerRun: number) {
  const dataDir = tempDir('fieldhub-bench-import-');
  const share = path.join(dataDir, 'share');
  mkdirSync(share);
  const config = loadConfig({
    file: path.join(import.meta.dirname, '..', 'test', 'helpers', 'empty-config.json'),
    env: {},
    overrides: {
      dataDir,
      patriot: { import: { maxClientsPerRun }, smb: { enabled: true, transport: 'directory', directory: share } },
    },
  });
  const store = openStore(config);
  for (let i = 0; i < CLIENTS; i++) {
    const dir = path.join(config.patriot.xmlDir, `Key${i % 8}`);
    if (i < 8) mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, `${100000 + i}.xml`), clientXml(100000 + i, `BASE${i % 8}`));
  }
  const service = new ImportService({ config, db: store.db, notify: () => {}, log: quiet });
  return { dataDir, store, service };
}

/**
 * The floor for the combine: read every file, cut its Row out with indexOf, write one file —
 * no claim, no validation, no parse, no state, no fsync.
 */
async function bareCombine(xmlDir: string, out: string): Promise<number> {
  const t0 = performance.now();
  const parts: string[] = [];
  for (const key of await readdir(xmlDir)) {
    for (const name of await readdir(path.join(xmlDir, key))) {
      const x = await readFile(path.join(xmlDir, key, name), 'utf8');
      parts.push(x.slice(x.indexOf('<Row>'), x.lastIndexOf('</Row>') + 6));
    }
  }
  await writeFile(out, `<?xml version="1.0" encoding="utf-8"?>\n<Clients>\n${parts.join('\n')}\n</Clients>\n`);
  if (parts.length !== CLIENTS) throw new Error(`bare combine read ${parts.length} files`);
  return (performance.now() - t0) / 1000;
}

async function combineBench(maxClientsPerRun: number): Promise<BenchRow> {
  const { dataDir, store, service } = setup(maxClientsPerRun);
  try {
    const bareS = await bareCombine(path.join(dataDir, 'out', 'clients'), path.join(dataDir, 'bare.xml'));
    let runs = 0;
    let clients = 0;
    let bytes = 0;
    const t0 = performance.now();
    for (;;) {
      const r = await service.run('cli');
      if (r.result === 'failed') throw new Error(r.error ?? 'run failed');
      if (r.clients === 0) break;
      runs++;
      clients += r.clients;
      bytes += r.bytes;
    }
    const s = (performance.now() - t0) / 1000;
    if (clients !== CLIENTS) throw new Error(`combined ${clients} clients, expected ${CLIENTS}`);
    return {
      bench: 'patriot-import',
      workload: `combine ${CLIENTS} files, batches of ${maxClientsPerRun} (directory transport)`,
      rate: Math.round(clients / s),
      unit: 'clients/s',
      bareRate: Math.round(CLIENTS / bareS),
      ratio: Number((bareS / s).toFixed(3)),
      note: `${runs} runs, ${s.toFixed(2)} s, ${(bytes / 1e6).toFixed(1)} MB of clients.xml; bare = read + cut + write one file (${bareS.toFixed(2)} s)`,
    };
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function uploadBench(): Promise<BenchRow[]> {
  const why = smbdUnavailable();
  if (why) {
    console.log(`patriot-import bench: SMB upload skipped: ${why}`);
    return [];
  }
  const smbd = new Smbd();
  const dataDir = tempDir('fieldhub-bench-upload-');
  try {
    await smbd.start();
    // a 5 MB clients.xml made of real rows
    const rows: string[] = [];
    let size = 0;
    for (let i = 0; size < 5 * 1024 * 1024; i++) {
      const x = clientXml(i, 'BASE11');
      const row = x.slice(x.indexOf('<Row>'), x.lastIndexOf('</Row>') + 6);
      rows.push(row);
      size += Buffer.byteLength(row) + 1;
    }
    const file = path.join(dataDir, 'ready_for_import', 'clients.xml');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `<?xml version="1.0" encoding="utf-8"?>\n<Clients>\n${rows.join('\n')}\n</Clients>\n`);
    const mb = statSync(file).size / 1e6;
    const config = loadConfig({
      file: path.join(import.meta.dirname, '..', 'test', 'helpers', 'empty-config.json'),
      env: {},
      overrides: { dataDir, patriot: { smb: smbd.smbConfig() } },
    });
    const transport = new SmbclientTransport(config.patriot.smb, dataDir);
    const ours: number[] = [];
    const plain: number[] = [];
    const auth = path.join(dataDir, 'plain.auth');
    writeFileSync(auth, `username = ${smbd.username}\npassword = ${smbd.password}\ndomain = WORKGROUP\n`, {
      mode: 0o600,
    });
    const exec = promisify(execFile);
    const session: number[] = [];
    const args = () => [`//${smbd.host}/${smbd.share}`, '-p', String(smbd.port), '-m', 'SMB3', '-A', auth];
    for (let rep = 0; rep < 5; rep++) {
      let t = performance.now();
      await transport.session((s) => s.put(path.join('ready_for_import', 'clients.xml'), 'clients.xml'));
      ours.push((performance.now() - t) / 1000);
      await smbd.client('del clients.xml');
      t = performance.now();
      await exec(
        'smbclient',
        [
          `//${smbd.host}/${smbd.share}`,
          '-p',
          String(smbd.port),
          '-m',
          'SMB3',
          '-A',
          auth,
          '-c',
          'put ready_for_import/clients.xml plain.xml',
        ],
        { cwd: dataDir },
      );
      plain.push((performance.now() - t) / 1000);
      await smbd.client('del plain.xml');
      // one session that transfers nothing: process start, negotiate, logon, tree connect, exit
      t = performance.now();
      await exec('smbclient', [...args(), '-c', 'pwd'], { cwd: dataDir });
      session.push((performance.now() - t) / 1000);
    }
    const a = median(ours);
    const b = median(plain);
    return [
      {
        bench: 'patriot-import',
        workload: `upload ${mb.toFixed(1)} MB clients.xml to local smbd (smbclient transport: put <random>.part + rename)`,
        rate: Number((mb / a).toFixed(1)),
        unit: 'MB/s',
        bareRate: Number((mb / b).toFixed(1)),
        ratio: Number((b / a).toFixed(3)),
        note:
          `median of 5: ${a.toFixed(3)} s vs plain smbclient put ${b.toFixed(3)} s; ` +
          `a session without transfer ${median(session).toFixed(3)} s (ours is two sessions)`,
      },
    ];
  } finally {
    await smbd.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  return [await combineBench(300), await combineBench(CLIENTS), ...(await uploadBench())];
}

if (isMain(import.meta.url)) printTable(await run());
