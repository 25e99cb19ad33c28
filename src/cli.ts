#!/usr/bin/env node
/**
 * The `fieldhub` command.
 *   fieldhub serve [--config FILE]
 *   fieldhub <module> <command> [args] [--config FILE]   (e.g. fieldhub push enqueue 42 load_objects)
 */
import pino from 'pino';
import { openStores } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { StoreVersionError } from './core/db.js';
import { migrateToPostgres } from './core/migrate-pg.js';
import type { Config } from './core/config.js';
import { readFileSync } from 'node:fs';
import { startServer } from './main.js';
import { modules } from './modules/index.js';

function usage(): string {
  const lines = [
    'usage: fieldhub serve [--config FILE]',
    '       fieldhub store migrate-to-postgres (--url-file FILE | --url URL)   copy the SQLite store and its files into PostgreSQL, verified',
  ];
  for (const m of modules) {
    for (const [name, c] of Object.entries(m.commands ?? {}))
      lines.push(`       fieldhub ${m.name} ${name} ${c.usage}`.trimEnd() + `   ${c.summary}`);
  }
  lines.push('', 'options: --config FILE (or FIELDHUB_CONFIG; default config/default.json)');
  return lines.join('\n');
}

/** Takes `--config FILE` / `--config=FILE` out of argv. */
export function takeConfigFlag(argv: string[]): { file?: string; rest: string[] } {
  const rest: string[] = [];
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config') file = argv[++i];
    else if (a.startsWith('--config=')) file = a.slice('--config='.length);
    else rest.push(a);
  }
  return { file, rest };
}

export async function run(argv: string[]): Promise<number> {
  const { file, rest } = takeConfigFlag(argv);
  const [cmd, sub, ...args] = rest;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(usage());
    return cmd ? 0 : 2;
  }
  if (cmd === 'serve') {
    await startServer(loadConfig({ file }));
    return -1; // keep running
  }
  if (cmd === 'store' && sub === 'migrate-to-postgres') return migrateCommand(loadConfig({ file }), args);
  const mod = modules.find((m) => m.name === cmd);
  const command = sub ? mod?.commands?.[sub] : undefined;
  if (!mod || !command) {
    console.error(`fieldhub: unknown command "${[cmd, sub].filter(Boolean).join(' ')}"\n${usage()}`);
    return 2;
  }
  const config = loadConfig({ file });
  const log = pino({ level: config.server.logLevel === 'info' ? 'warn' : config.server.logLevel }, pino.destination(2));
  const stores = await openStores(config);
  const sqliteOnly = (): never => {
    throw new ConfigError(`fieldhub ${cmd} ${sub}: not available with store.driver "postgres"`);
  };
  const store = stores.store ?? (new Proxy({}, { get: sqliteOnly }) as NonNullable<typeof stores.store>);
  try {
    return await command.run(args, { config, store, pg: stores.pg, log, out: (l) => process.stdout.write(l + '\n') });
  } finally {
    await stores.close();
  }
}

/**
 * `fieldhub store migrate-to-postgres`: the configured SQLite store (store.driver "sqlite", dataDir)
 * into the PostgreSQL at --url-file (or --url, visible to other users in `ps`; or store.url of the
 * config): migrates PostgreSQL to this version's schema, copies, verifies. Exit 0 when every table and
 * file set matches, 1 otherwise. Re-runnable.
 */
async function migrateCommand(config: Config, args: string[]): Promise<number> {
  let url = config.store.url;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--url') url = args[++i];
    else if (a.startsWith('--url=')) url = a.slice(6);
    else if (a === '--url-file') url = readFileSync(args[++i] ?? '', 'utf8').trim();
    else if (a.startsWith('--url-file=')) url = readFileSync(a.slice(11), 'utf8').trim();
    else throw new ConfigError(`fieldhub store migrate-to-postgres: unknown argument "${a}"`);
  }
  if (!url || !/^postgres(ql)?:\/\//.test(url))
    throw new ConfigError('fieldhub store migrate-to-postgres: --url-file FILE or --url postgres://... is required');
  const source = await openStores({ ...config, store: { ...config.store, driver: 'sqlite' } });
  try {
    const target = await openStores({ ...config, store: { ...config.store, driver: 'postgres', url } }, modules);
    try {
      const report = await migrateToPostgres(source.store!, target.pg!, modules, config.dataDir, (l) =>
        process.stdout.write(l + '\n'),
      );
      process.stdout.write(
        report.ok
          ? 'migrate-to-postgres: verified, counts and checksums match\n'
          : 'migrate-to-postgres: DIFFERENCES (see DIFF lines)\n',
      );
      return report.ok ? 0 : 1;
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (
  isMain ||
  process.argv[1]?.endsWith('/fieldhub') ||
  process.argv[1]?.endsWith('cli.js') ||
  process.argv[1]?.endsWith('cli.ts')
) {
  run(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exitCode = code;
    },
    (err: unknown) => {
      if (err instanceof ConfigError || err instanceof StoreVersionError) {
        console.error(`fieldhub: ${err.message}`);
      } else {
        console.error(`fieldhub: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      }
      process.exitCode = 1;
    },
  );
}
