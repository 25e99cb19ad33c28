/** The operator API under /admin/push (admin token, core error shape). */
import { z } from 'zod';
import { HttpError } from '../../core/errors.js';
import type { ZodApp } from '../../core/module.js';
import {
  bulkSpecSchema,
  commandParams,
  commandSpecSchema,
  commandsQuery,
  deviceParams,
  devicePageQuery,
  FINAL_STATUSES,
  type CommandSpec,
} from './schemas.js';
import { deviceIdFromJson, DEVICE_ID_HINT, parseDeviceId } from './device-id.js';
import type { PushService } from './service.js';
import { commandView } from './rows.js';
import { UnknownDeviceError } from './store.js';
import { devicePage, pushHealth } from './health.js';

const MAX_WAIT_SECONDS = 60;

function deviceIdParam(v: string): string {
  const id = parseDeviceId(v);
  if (id === undefined) throw new HttpError(400, DEVICE_ID_HINT);
  return id;
}

export async function adminRoutes(admin: ZodApp, svc: PushService, offlinePolls: number): Promise<void> {
  const tags = ['push admin'];
  const security = [{ bearer: [] }];

  const enqueue = (deviceIds: string[], spec: CommandSpec) =>
    svc.enqueue(deviceIds, spec).catch((e: unknown) => {
      // thrown in the writer thread: it arrives with its name and message
      if (e instanceof Error && e.name === UnknownDeviceError.name) throw new HttpError(404, e.message);
      throw e;
    });

  admin.get(
    '/devices',
    {
      schema: {
        tags,
        security,
        summary:
          'Devices with last seen, online and queue depth; search (q), sort and page (limit, offset) on the server',
        querystring: devicePageQuery,
      },
    },
    async (req) => devicePage(svc, req.query),
  );

  const health = pushHealth(svc, offlinePolls);
  admin.get(
    '/health',
    {
      schema: {
        tags,
        security,
        summary: 'green / amber / red with the reasons: offline devices, failed commands, queue',
      },
    },
    async () => health(),
  );

  admin.put(
    '/devices/:deviceId',
    {
      schema: {
        tags,
        security,
        summary: 'Register a device (needed when push.allowUnknownDevices is false)',
        params: deviceParams,
      },
    },
    async (req, reply) => {
      const id = deviceIdParam(req.params.deviceId);
      const created = await svc.register(id);
      return reply.code(created ? 201 : 200).send({ deviceId: id, created });
    },
  );

  admin.post(
    '/devices/:deviceId/commands',
    {
      schema: {
        tags,
        security,
        summary: 'Queue a command for a device',
        params: deviceParams,
        body: commandSpecSchema,
      },
    },
    async (req, reply) => {
      const [row] = await enqueue([deviceIdParam(req.params.deviceId)], req.body);
      return reply.code(201).send({ id: row!.id, status: row!.status });
    },
  );

  admin.post(
    '/commands',
    {
      schema: {
        tags,
        security,
        summary: 'Queue the same command for many devices (one transaction)',
        body: bulkSpecSchema,
      },
    },
    async (req, reply) => {
      const { deviceIds, ...spec } = req.body;
      const ids = deviceIds.map((v) => deviceIdFromJson(v)!);
      const rows = await enqueue(ids, spec);
      return reply
        .code(201)
        .send({ commands: rows.map((r) => ({ deviceId: r.device_id, id: r.id, status: r.status })) });
    },
  );

  admin.get(
    '/devices/:deviceId/commands',
    {
      schema: {
        tags,
        security,
        summary: "A device's commands in queue order",
        params: deviceParams,
        querystring: commandsQuery,
      },
    },
    async (req) => {
      const rows = await svc.store.list(
        deviceIdParam(req.params.deviceId),
        req.query.status,
        req.query.limit,
        req.query.offset,
      );
      return { commands: rows.map((r) => commandView(r)) };
    },
  );

  admin.get(
    '/commands/:id',
    {
      schema: {
        tags,
        security,
        summary: 'A command with its result and history; waitSeconds holds the request until it finishes',
        params: commandParams,
        querystring: z.object({ waitSeconds: z.coerce.number().min(0).max(MAX_WAIT_SECONDS).optional() }),
      },
    },
    async (req) => {
      let row = await svc.store.byId(req.params.id);
      if (!row) throw new HttpError(404, `no command ${req.params.id}`);
      const wait = req.query.waitSeconds ?? 0;
      if (wait > 0 && !FINAL_STATUSES.has(row.status)) {
        await svc.waitFinished(row.id, wait * 1000);
        row = (await svc.store.byId(req.params.id))!;
      }
      return commandView(row, await svc.store.events(row.seq), await svc.store.deliveries(row.seq));
    },
  );

  admin.delete(
    '/commands/:id',
    {
      schema: {
        tags,
        security,
        summary: 'Cancel a queued command (409 once delivered or finished)',
        params: commandParams,
      },
    },
    async (req) => {
      const { row, cancelled } = await svc.cancel(req.params.id);
      if (!row) throw new HttpError(404, `no command ${req.params.id}`);
      if (!cancelled)
        throw new HttpError(409, `command ${row.id} is ${row.status}; only queued commands can be cancelled`);
      return commandView(row);
    },
  );
}
