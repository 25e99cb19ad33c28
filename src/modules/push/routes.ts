/**
 * The device side: GET /push and POST /result, exactly as Control iD devices call them.
 * Empty answers are 200 with no body and no Content-Type. Errors are `{"error": "..."}` (devices
 * ignore bodies; the shape is for people reading logs and curl output).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { installErrorFormat } from '../../core/errors.js';
import { lazyWarnLogger } from '../../core/lazy-log.js';
import { DEVICE_ID_HINT, parseDeviceId } from './device-id.js';
import { ENDPOINT_HINT, parseEndpoint, parseUuid, UUID_HINT } from './schemas.js';
import { FORBIDDEN, type PushService } from './service.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const BAD_ID = JSON.stringify({ error: DEVICE_ID_HINT });
const UNKNOWN = JSON.stringify({ error: 'unknown device (push.allowUnknownDevices is false)' });
const BAD_UUID = JSON.stringify({ error: UUID_HINT });
const BAD_ENDPOINT = JSON.stringify({ error: ENDPOINT_HINT });

type Query = Record<string, string | string[] | undefined>;

export function deviceRoutes(svc: PushService) {
  return async function pushDeviceScope(scope: FastifyInstance): Promise<void> {
    installErrorFormat(scope, (c) => ({ error: c.message }), { notFound: false });
    // results arrive with any content type or none: take the raw text and read it leniently
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));

    // documented in OpenAPI; checked by hand (parseDeviceId) rather than by a validator on the hot path
    const querySchema = z.object({
      deviceId: z.string().describe('int64 device id, decimal'),
      uuid: z
        .string()
        .optional()
        .describe(
          "the device's own uuid (bound to the delivery made in answer to this poll; sent again on /result), or on /result the command id",
        ),
    });
    const resultQuery = querySchema.extend({
      endpoint: z.string().optional().describe('the endpoint the device executed (with or without .fcgi)'),
    });

    // the hot path: no schema validation, no hooks; one Map lookup for an empty poll
    scope.get(
      '/push',
      // no implicit HEAD route: a HEAD would take a command off the queue and drop its body
      {
        exposeHeadRoute: false,
        logLevel: 'warn',
        childLoggerFactory: lazyWarnLogger,
        schema: { summary: 'Control iD device poll', tags: ['push device'], querystring: querySchema },
        validatorCompiler: () => () => true,
      },
      function poll(req: FastifyRequest, reply: FastifyReply): void {
        const id = parseDeviceId((req.query as Query).deviceId);
        if (id === undefined) {
          reply.code(400).type(JSON_TYPE).send(BAD_ID);
          return;
        }
        const uuid = parseUuid((req.query as Query).uuid);
        if (uuid === null) {
          reply.code(400).type(JSON_TYPE).send(BAD_UUID);
          return;
        }
        const out = svc.poll(id, req.ip, uuid);
        if (out === null) reply.send();
        else if (out === FORBIDDEN) reply.code(403).type(JSON_TYPE).send(UNKNOWN);
        else if (typeof out === 'string') reply.type(JSON_TYPE).send(out);
        else {
          // a delivery: answered once it is committed (the writer thread's group commit)
          out.then(
            (payload) => (payload === null ? reply.send() : reply.type(JSON_TYPE).send(payload)),
            (err: unknown) => reply.send(err),
          );
        }
      },
    );

    scope.post(
      '/result',
      {
        logLevel: 'warn',
        childLoggerFactory: lazyWarnLogger,
        schema: { summary: 'Control iD command result', tags: ['push device'], querystring: resultQuery },
        validatorCompiler: () => () => true,
      },
      function result(req: FastifyRequest, reply: FastifyReply): void {
        const q = req.query as Query;
        const id = parseDeviceId(q.deviceId);
        if (id === undefined) {
          reply.code(400).type(JSON_TYPE).send(BAD_ID);
          return;
        }
        const raw = typeof req.body === 'string' ? req.body : '';
        const uuid = parseUuid(q.uuid);
        const endpoint = parseEndpoint(q.endpoint);
        if (uuid === null || endpoint === null) {
          reply
            .code(400)
            .type(JSON_TYPE)
            .send(uuid === null ? BAD_UUID : BAD_ENDPOINT);
          return;
        }
        // answered once the result is committed
        svc.result(id, req.ip, raw, { uuid, endpoint }).then(
          (known) => (known ? reply.send() : reply.code(403).type(JSON_TYPE).send(UNKNOWN)),
          (err: unknown) => reply.send(err),
        );
      },
    );
  };
}
