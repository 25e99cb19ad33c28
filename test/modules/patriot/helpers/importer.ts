/** Test fixtures for the import pipeline: the app with the patriot module, and Patriot's side of the share. */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defineModule } from '../../../../src/core/module.js';
import patriot from '../../../../src/modules/patriot/index.js';
import { registerImport, type ImportHooks } from '../../../../src/modules/patriot/import/index.js';
import type { RunRow } from '../../../../src/modules/patriot/import/store.js';
import { idsOfCombined } from '../../../../src/modules/patriot/import/xml.js';
import { ADMIN, makeApp, type TestApp } from '../../../helpers/app.js';
import { xmlRows } from './xml-db.js';

/** The patriot module with the import pipeline given test hooks (regeneration before the API is merged). */
export function patriotWith(hooks: ImportHooks) {
  return defineModule({ ...patriot, plugin: async (app) => void (await registerImport(app, hooks)) });
}

/**
 * The app with the patriot module. The scheduler is not started unless asked (runs come from
 * POST /admin/patriot/import-runs), so the default cron (minute 59) never fires in the middle of a test.
 */
export async function importApp(
  config: Record<string, unknown>,
  opts: { hooks?: ImportHooks; startScheduler?: boolean } = {},
): Promise<TestApp> {
  return makeApp(config, {
    startScheduler: opts.startScheduler ?? false,
    modules: [opts.hooks ? patriotWith(opts.hooks) : patriot],
  });
}

export interface RunBody {
  skipped: boolean;
  run: Omit<RunRow, 'trigger' | 'started_at' | 'finished_at' | 'batch_time' | 'transport' | 'result'> & {
    result: string;
    failed_ids: string[];
    gave_up_ids: string[];
    rejected_files: string[];
  };
}

export async function runImport(t: TestApp): Promise<RunBody['run']> {
  const r = await t.app.inject({ method: 'POST', url: '/admin/patriot/import-runs', headers: ADMIN });
  if (r.statusCode !== 200) throw new Error(`POST import-runs ${r.statusCode}: ${r.body}`);
  return r.json<RunBody>().run;
}

export async function importState(
  t: TestApp,
  query = '',
): Promise<{ total: number; counts: Record<string, number>; items: Array<Record<string, unknown>> }> {
  const r = await t.app.inject({ url: `/admin/patriot/import-state${query}`, headers: ADMIN });
  if (r.statusCode !== 200) throw new Error(`GET import-state ${r.statusCode}: ${r.body}`);
  return r.json();
}

export function sharedIds(dir: string, name = 'clients.xml'): string[] {
  const f = path.join(dir, name);
  return existsSync(f) ? idsOfCombined(readFileSync(f, 'utf8')) : [];
}

/**
 * Patriot's importer: reads clients.xml on the share and writes clients_Import_Results.txt with a
 * "Completed processing client" line for each id except `fail`.
 */
export function patriotImports(dir: string, fail: string[] = []): string[] {
  const ids = sharedIds(dir);
  const lines = ids.map((id) =>
    fail.includes(id)
      ? `2025-01-01 12:00:00 Error processing client ${id}: invalid zone`
      : `2025-01-01 12:00:00 Completed processing client ${id}`,
  );
  writeFileSync(path.join(dir, 'clients_Import_Results.txt'), lines.join('\r\n') + '\r\n');
  return ids;
}

export function rotated(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^clients_\d{8}_\d{6}(_\d+)?\.xml$/.test(n))
    .sort();
}

/** The files under `dir`, relative; for the XML dir on PostgreSQL the per-client XML rows (helpers/xml-db.ts). */
export function xmlFiles(dir: string): string[] {
  const inDb = xmlRows(dir);
  if (inDb) return inDb;
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}

export { ADMIN };

const repoRoot = path.join(import.meta.dirname, '..', '..', '..', '..');

/** Runs the real CLI, `fieldhub patriot combine [--once] --config FILE`, from the repository's sources. */
export function combineCli(cfg: string, opts: { once?: boolean } = {}): SpawnSyncReturns<string> {
  const args = [
    '--import',
    'tsx',
    path.join(repoRoot, 'src', 'cli.ts'),
    'patriot',
    'combine',
    ...(opts.once === false ? [] : ['--once']),
    '--config',
    cfg,
  ];
  return spawnSync(process.execPath, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    timeout: 30_000,
  });
}
