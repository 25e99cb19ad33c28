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
import { exists } from '../../core/files.js';
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
import type { ClientRecord } from './store.js';

const UNAUTHORIZED: Record<string, string> = {
  missing: 'Missing API key',
  invalid: 'Invalid API key',
  disabled: 'API key disabled',
  expired: 'API key expired',
};

const notFound = (what: string) => new HttpError(404, `${what} not found`);

/** GET /clients shape: zones and users keyed by their number, as the original's stored record. */
export function clientView(c: ClientRecord) {
  return {
    client_id: c.client_id,
    info: c.info,
    zones: Object.fromEntries(c.zones.map((z) => [String(z.Zone_No), z])),
    users: Object.fromEntries(c.users.map((u) => [String(u.UserNo), u])),
  };
}

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
     * Runs a change and the state-row update (status 'changed', xml_version + 1) in one transaction,
     * then rewrites the client's XML before answering.
     */
    async function change<T>(k: string, id: number, fn: () => T): Promise<T> {
      const r = store.transaction(() => {
        const out = fn();
        if (store.exists(k, id)) store.clientState.markChanged(k, id);
        return out;
      });
      await svc.writeClientXml(k, id, { marked: true });
      return r;
    }

    function mustExist(k: string, id: number): void {
      if (!store.exists(k, id)) throw notFound('Client');
    }

    // ---- clients ----
    app.get('/', { ...opts, schema: { headers: clientHeaders } }, async (req) => {
      const k = key(req);
      const id = req.headers['x-client-id'];
      const c = store.getClient(k, id);
      if (!c) throw notFound('Client');
      // the importer uploaded it and removed the file, but the import is not confirmed: put it back
      if (store.clientState.get(k, id)?.status === 'pending_import' && !(await exists(svc.xmlPath(k, id)))) {
        await svc.writeClientXml(k, id);
      }
      return clientView(c);
    });

    app.put('/', { ...opts, schema: { body: putClientBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, info } = req.body;
      // the answer is read inside the transaction: a concurrent DELETE may remove the client while the XML is written
      const { created, view } = await change(k, id, () => {
        const created = store.putInfo(k, id, { ...infoDefaults(), ...info });
        return { created, view: clientView(store.getClient(k, id)!) };
      });
      return reply.code(created ? 201 : 200).send(view);
    });

    app.patch('/', { ...opts, schema: { body: patchClientBody } }, async (req) => {
      const k = key(req);
      const { client_id: id, info } = req.body;
      return change(k, id, () => {
        const cur = store.getInfo(k, id);
        if (!cur) throw notFound('Client');
        const sent = Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined));
        store.putInfo(k, id, { ...cur, ...sent });
        return clientView(store.getClient(k, id)!);
      });
    });

    app.delete('/', { ...opts, schema: { body: clientIdBody } }, async (req, reply) => {
      const k = key(req);
      const id = req.body.client_id;
      await change(k, id, () => {
        if (!store.deleteClient(k, id)) throw notFound('Client');
      });
      return reply.code(204).send();
    });

    // ---- zones ----
    const listZones = (k: string, id: number) => {
      mustExist(k, id);
      return { client_id: id, zones: store.zones(k, id) };
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
      await change(k, b.client_id, () => {
        mustExist(k, b.client_id);
        store.putZone(k, b.client_id, zone);
      });
      return reply.code(201).send({ client_id: b.client_id, zone });
    });

    /** Deletes one part of an existing client (204), 404 naming `what` when there is none. */
    const removePart = async (k: string, id: number, what: string, remove: () => boolean) => {
      await change(k, id, () => {
        mustExist(k, id);
        if (!remove()) throw notFound(what);
      });
    };

    app.delete('/zones', { ...opts, schema: { body: zoneRefBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, zone_id } = req.body;
      await removePart(k, id, 'Zone', () => store.deleteZone(k, id, zone_id));
      return reply.code(204).send();
    });

    // ---- users ----
    const listUsers = (k: string, id: number) => {
      mustExist(k, id);
      return { client_id: id, users: store.users(k, id) };
    };
    const oneUser = (k: string, id: number, no: number) => {
      mustExist(k, id);
      const user = store.getUser(k, id, no);
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
      const saved = await change(k, id, () => {
        mustExist(k, id);
        if (store.getUser(k, id, user.UserNo)) throw new HttpError(409, `User ${user.UserNo} already exists`);
        store.insertUser(k, id, user);
        return store.getUser(k, id, user.UserNo);
      });
      return reply.code(201).send({ client_id: id, user: saved });
    });

    app.put('/users', { ...opts, schema: { body: userWriteBody } }, async (req) => {
      const k = key(req);
      const { client_id: id, user } = req.body;
      const saved = await change(k, id, () => {
        mustExist(k, id);
        if (!store.updateUser(k, id, user)) throw notFound('User');
        return store.getUser(k, id, user.UserNo);
      });
      return { client_id: id, user: saved };
    });

    app.delete('/users', { ...opts, schema: { body: userRefBody } }, async (req, reply) => {
      const k = key(req);
      const { client_id: id, user_no } = req.body;
      await removePart(k, id, 'User', () => store.deleteUser(k, id, user_no));
      return reply.code(204).send();
    });
  };
}

export const requestLogFile = (dataDir: string) => path.join(dataDir, 'api_requests.log');
