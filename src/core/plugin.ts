/**
 * The shared core as one plugin (wrapped with fastify-plugin so every module sees it): the
 * decorations (`config`, `store`, `writer`, `metrics`, `scheduler`, `sessions`, `requireAdmin`), HTTP metrics, the
 * notification retention job, and the close order (modules' onClose hooks, then jobs, then the database).
 */
import type { onResponseHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { adminGuard } from './auth.js';
import type { Config } from './config.js';
import { PRUNE_BATCH, type Store } from './db.js';
import { PgWriter, type PgStore } from './pg.js';
import type { Metrics } from './metrics.js';
import type { Scheduler } from './scheduler.js';
import { Sessions } from './session.js';
import { moduleFile } from './module.js';
import { LazyWriter, type WriteRunner } from './writer.js';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';

export interface CorePluginOptions {
  config: Config;
  /** the open store of the configured driver (src/app.ts openStores) */
  stores: { store: Store | null; pg: PgStore | null; close(): Promise<void> };
  metrics: Metrics;
  scheduler: Scheduler;
  /** start the scheduler when the app is ready (default true) */
  startScheduler?: boolean;
  /** the modules' write files (FieldhubModule.writes) the writer thread loads */
  writes?: readonly string[];
  /** the same ops on PostgreSQL (FieldhubModule.writesPg), loaded by PgWriter on store.driver "postgres" */
  writesPg?: readonly string[];
}

const DAY_MS = 86_400_000;

export const corePlugin = fp<CorePluginOptions>(
  async (root, { config, stores, metrics, scheduler, startScheduler, writes, writesPg }) => {
    root.decorate('config', config);
    const { store, pg } = stores;
    if (store) root.decorate('store', store);
    else
      root.decorate('store', {
        getter() {
          throw new Error('the SQLite store is not open: store.driver is "postgres" (use app.pg)');
        },
      });
    root.decorate('pg', pg);
    let writer: WriteRunner;
    if (pg) {
      writer = await PgWriter.load(pg, [moduleFile(import.meta.url, 'writes-pg'), ...(writesPg ?? [])]);
      // one run per job and scheduled slot across the replicas sharing the database
      const replica = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
      scheduler.setClaim((job, slot) => pg.claimRun(job, slot, replica));
    } else {
      writer = new LazyWriter({
        file: store!.file,
        synchronous: config.store.synchronous,
        busyTimeoutMs: config.store.busyTimeoutMs,
        writes: [moduleFile(import.meta.url, 'writes'), ...(writes ?? [])],
      });
    }
    root.decorate('writer', writer);
    root.decorate('metrics', metrics);
    root.decorate('scheduler', scheduler);
    // on PostgreSQL the sessions live in the database, so every replica knows them
    const sessions = new Sessions(() => config.admin.token, config.console.sessionHours * 3_600_000, pg?.sessions());
    root.decorate('sessions', sessions);
    root.decorate(
      'requireAdmin',
      adminGuard(() => config.admin.token, sessions),
    );
    // callback-style hooks (no promise per request and hook); see docs/performance.md. Each route's
    // metrics hook holds its route's url (req.routeOptions builds an object of twelve fields per call)
    root.addHook('onRoute', (route) => {
      const url = route.url;
      const observe: onResponseHookHandler = (req, reply, done) => {
        metrics.http.observe(req.method, url, reply.statusCode, reply.elapsedTime / 1000);
        done();
      };
      route.onResponse = route.onResponse === undefined ? observe : [observe, ...[route.onResponse].flat()];
    });
    // answers of no route (the 404 handlers)
    root.addHook('onResponse', (req, reply, done) => {
      if (req.is404) {
        metrics.http.observe(
          req.method,
          req.routeOptions.url ?? 'unmatched',
          reply.statusCode,
          reply.elapsedTime / 1000,
        );
      }
      done();
    });
    // JSON and text answers never need a page's powers; the console sets its own policy, /docs its own
    root.addHook('onSend', (req, reply, payload, done) => {
      if (!reply.hasHeader('content-security-policy') && !req.url.startsWith('/docs')) {
        reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      }
      done(null, payload);
    });
    const keepDays = config.store.notificationRetentionDays;
    if (keepDays !== null) {
      // on the writer thread, as every server-side write, in batches
      const prune = async () => {
        const before = new Date(Date.now() - keepDays * DAY_MS).toISOString();
        for (let total = 0; ;) {
          const { value } = await writer.run<number>('core.pruneNotifications', { before });
          total += value;
          if (value < PRUNE_BATCH) return total;
        }
      };
      scheduler.register('core.notifications-retention', prune, { cron: '23 3 * * *' });
    }
    root.addHook('onReady', async () => {
      if (startScheduler !== false) scheduler.start();
    });
    // while closing, drop keep-alive sockets as soon as their in-flight request is answered
    let idleSweep: NodeJS.Timeout | undefined;
    root.addHook('preClose', async () => {
      idleSweep = setInterval(() => root.server.closeIdleConnections?.(), 50);
      idleSweep.unref();
    });
    // runs after the modules' own onClose hooks: stop jobs, commit what the writer holds, close the database
    root.addHook('onClose', async () => {
      clearInterval(idleSweep);
      await scheduler.stop();
      await writer.close();
      await stores.close();
      metrics.close();
    });
  },
  { name: 'fieldhub-core' },
);
