/**
 * The client registry API under /clients (spec: patriot-api.md). Auth runs after the body is parsed
 * and before it is validated (FastAPI's order: JSON decode error, then 401, then 422).
 */
import type { FastifyInstance, FastifyRequest, HTTPMethods } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import path from 'node:path';
import { bearerToken } from '../../core/auth.js';
import type { ApiKey } from './keys.js';
import { HttpError } from '../../core/errors.js';
import { methodNotAllowed, requestSlot } from '../../core/routing.js';
import { installFastApiErrors } from './errors.js';
import { RequestLog } from './request-log.js';
import {
  clientHeaders,
  clientIdBody,
  infoDefaults,
  patchClientBody,
  putClientBody,
  putZoneBody,
  userHeaders,
  userRefBody,
  userWriteBody,
  zoneRefBody,
  type Zone,
} from './schemas.js';
import type { PatriotService } from './service.js';
import type { clientView } from './store.js';
import type { User } from './schemas.js';

const UNAUTHORIZED: Record<string, string> = {
  missing: 'Missing API key',
  invalid: 'Invalid API key',
  disabled: 'API key disabled',
  expired: 'API key expired',
};

const notFound = (what: string) => new HttpError(404, `${what} not found`);

type View = ReturnType<typeof clientView>;

/** path -> the methods it answers; every other method gets 405 there. */
const ROUTES: Record<string, HTTPMethods[]> = {
  '/': ['GET', 'PUT', 'PATCH', 'DELETE'],
  '/zones': ['GET', 'PUT', 'DELETE'],
  '/zones/list': ['POST'],
  '/users': ['GET', 'POST', 'PUT', 'DELETE'],
  '/users/single': ['GET'],
  '/users/list': ['POST'],
  '/users/get': ['POST'],
};

/**
 * Bodies: JSON as sent by every client of the original. A request without a Content-Type is parsed
 * as JSON (as FastAPI does); any other type is kept as a string and fails validation with 422.
 */
function installBodyParsers(scope: FastifyInstance): void {
  scope.addContentTypeParser('*', { parseAs: 'string' }, (req, body, done) => {
    if (req.headers['content-type'] === undefined) {
      try {
        done(null, body === '' ? undefined : JSON.parse(body as string));
      } catch (e) {
        done(e as Error, undefined);
      }
      return;
    }
    done(null, body);
  });
}

export function patriotRoutes(svc: PatriotService, logFile: string, bodyLimit: number) {
  return async function routes(base: FastifyInstance): Promise<void> {
    const app = base.withTypeProvider<ZodTypeProvider>();
    const store = svc.store;
    installFastApiErrors(base);
    installBodyParsers(base);

    const keyOf = requestSlot<ApiKey>(base, 'patriotKey');
    /** The key a request was authenticated with (set by the preValidation hook). */
    const key = (req: FastifyRequest): string => {
      const k = keyOf.get(req);
      if (!k) throw new HttpError(401, UNAUTHORIZED.missing!);
      return k.key_name;
    };

    const reqLog = new RequestLog(logFile);
    base.addHook('onClose', () => reqLog.close());
    base.addHook('onResponse', async (req, reply) => {
      reqLog.write(req, reply.statusCode, reply.elapsedTime, keyOf.get(req)?.key_name);
    });

    const auth = async (req: FastifyRequest) => {
      const r = svc.keys.authenticate(bearerToken(req));
      if (!r.ok) throw new HttpError(401, UNAUTHORIZED[r.reason]!, { 'www-authenticate': 'Bearer' });
      keyOf.set(req, r.key);
    };
    const opts = { preValidation: auth, bodyLimit } as const;

    methodNotAllowed(base, ROUTES);

    /**
     * Runs a change (an op of writes.ts: the change and the state-row update, status 'changed' and
     * xml_version + 1, in one transaction) through the writer, then rewrites the client's XML before
     * answering. A write refused for its input (404, 409) answers with its status.
     */
    async function change<T>(k: string, id: number, op: string, args: object): Promise<T> {
      let r: T;
      try {
        r = await svc.write<T>(op, { k, id, ...args, ...svc.changeArgs(k) });
      } catch (e) {
        const s = (e as { statusCode?: unknown }).statusCode;
        if (s === 404 || s === 409) throw new HttpError(s, (e as Error).message);
        throw e;
      }
      await svc.afterChange(k, id);
      return r;
    }

    async function mustExist(k: string, id: number): Promise<void> {
      if (!(await store.exists(k, id))) throw notFound('Client');
    }

    // ---- clients ----
    app.get('/', { ...opts, schema: { headers: clientHeaders } }, async (req, reply) => {
      const k = key(req);
      const id = req.headers['x-client-id'];
      // the answer as JSON text from one statement (store.ts CLIENT_JSON): no parse, no serialization here
      const c = await store.clientJson(k, id);
      if (!c) throw notFound('Client');
      // the importer uploaded it and removed the file, but the import is not confirmed: put it back
      if (c.status === 'pending_import' && !(await svc.hasXml(k, id))) {
        await svc.writeClientXml(k, id);
      }
      return reply.type('application/json; charset=utf-8').send(c.json);
    });

    app.put('/', { ...opts, schema: { body: putClientBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, info } = req.body;
      // the answer is read inside the transaction: a concurrent DELETE may remove the client while the XML is written
      const { created, view } = await change<{ created: boolean; view: View }>(k, id, 'patriot.putClient', {
        info: { ...infoDefaults(), ...info },
      });
      return reply.code(created ? 201 : 200).send(view);
    });

    app.patch('/', { ...opts, schema: { body: patchClientBody } }, async (req) => {
      const k = key(req);
      const { client_id: id, info } = req.body;
      const sent = Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined));
      return change<View>(k, id, 'patriot.patchClient', { info: sent });
    });

    app.delete('/', { ...opts, schema: { body: clientIdBody } }, async (req, reply) => {
      const k = key(req);
      await change(k, req.body.client_id, 'patriot.deleteClient', {});
      return reply.code(204).send();
    });

    // ---- zones ----
    const listZones = async (k: string, id: number) => {
      await mustExist(k, id);
      return { client_id: id, zones: await store.zones(k, id) };
    };
    app.get('/zones', { ...opts, schema: { headers: clientHeaders } }, async (req) =>
      listZones(key(req), req.headers['x-client-id']),
    );
    app.post('/zones/list', { ...opts, schema: { body: clientIdBody } }, async (req) =>
      listZones(key(req), req.body.client_id),
    );

    app.put('/zones', { ...opts, schema: { body: putZoneBody } }, async (req, reply) => {
      const k = key(req);
      const b = req.body;
      const zone: Zone = { Zone_No: b.zone_id, Zone_area: b.Zone_area, ModuleNo: b.ModuleNo };
      await change(k, b.client_id, 'patriot.putZone', { zone });
      return reply.code(201).send({ client_id: b.client_id, zone });
    });

    app.delete('/zones', { ...opts, schema: { body: zoneRefBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, zone_id } = req.body;
      await change(k, id, 'patriot.deleteZone', { zone: zone_id });
      return reply.code(204).send();
    });

    // ---- users ----
    const listUsers = async (k: string, id: number) => {
      await mustExist(k, id);
      return { client_id: id, users: await store.users(k, id) };
    };
    const oneUser = async (k: string, id: number, no: number) => {
      await mustExist(k, id);
      const user = await store.getUser(k, id, no);
      if (!user) throw notFound('User');
      return { client_id: id, user };
    };
    app.get('/users', { ...opts, schema: { headers: clientHeaders } }, async (req) =>
      listUsers(key(req), req.headers['x-client-id']),
    );
    app.post('/users/list', { ...opts, schema: { body: clientIdBody } }, async (req) =>
      listUsers(key(req), req.body.client_id),
    );
    app.get('/users/single', { ...opts, schema: { headers: userHeaders } }, async (req) =>
      oneUser(key(req), req.headers['x-client-id'], req.headers['x-user-no']),
    );
    app.post('/users/get', { ...opts, schema: { body: userRefBody } }, async (req) =>
      oneUser(key(req), req.body.client_id, req.body.user_no),
    );

    app.post('/users', { ...opts, schema: { body: userWriteBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, user } = req.body;
      const saved = await change<User>(k, id, 'patriot.insertUser', { user });
      return reply.code(201).send({ client_id: id, user: saved });
    });

    app.put('/users', { ...opts, schema: { body: userWriteBody } }, async (req) => {
      const k = key(req);
      const { client_id: id, user } = req.body;
      const saved = await change<User>(k, id, 'patriot.updateUser', { user });
      return { client_id: id, user: saved };
    });

    app.delete('/users', { ...opts, schema: { body: userRefBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, user_no } = req.body;
      await change(k, id, 'patriot.deleteUser', { userNo: user_no });
      return reply.code(204).send();
    });
  };
}

export const requestLogFile = (dataDir: string) => path.join(dataDir, 'api_requests.log');
