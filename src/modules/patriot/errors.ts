/**
 * The patriot API's errors in the original's (FastAPI) shapes: `{"detail": "..."}`; validation 422
 * `{"detail": [{"loc", "msg", "type"}]}` with FastAPI's loc names (body, header, query) and
 * pydantic-like type names; malformed JSON 422 json_invalid; unknown path 404 {"detail":"Not Found"};
 * wrong method 405 {"detail":"Method Not Allowed"} + Allow.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classify, logError, validationIssues, type RawIssue } from '../../core/errors.js';

export interface Detail {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

const LOC: Record<string, string> = { body: 'body', headers: 'header', querystring: 'query', params: 'path' };

function pydanticType(code: string, msg: string, params: Record<string, unknown>): { type: string; msg: string } {
  const origin = text(params.origin);
  switch (code) {
    case 'invalid_type': {
      if (/received undefined$/.test(msg)) return { type: 'missing', msg: 'Field required' };
      const exp = text(params.expected);
      const t = {
        number: 'int_type',
        int: 'int_type',
        string: 'string_type',
        boolean: 'bool_type',
        object: 'dict_type',
        array: 'list_type',
      }[exp];
      return { type: t ?? 'type_error', msg };
    }
    case 'too_big':
      return { type: origin === 'string' ? 'string_too_long' : 'less_than_equal', msg };
    case 'too_small':
      return { type: origin === 'string' ? 'string_too_short' : 'greater_than_equal', msg };
    case 'invalid_format':
      return { type: 'string_pattern_mismatch', msg };
    case 'custom':
      return { type: 'value_error', msg };
    default:
      return { type: code, msg };
  }
}

function validationDetails(issues: RawIssue[]): Detail[] {
  return issues.map((v) => {
    const { type, msg } = pydanticType(v.keyword, v.message, v.params);
    return { loc: [LOC[v.context] ?? v.context, ...v.path], msg, type };
  });
}

/** The body FastAPI sends for a JSON body it cannot decode. */
function jsonInvalid(err: Error, req: FastifyRequest): Detail[] {
  const m = /position (\d+)/.exec(err.message);
  const len = Number(req.headers['content-length'] ?? 0);
  return [{ loc: ['body', m ? Number(m[1]) : len], msg: 'JSON decode error', type: 'json_invalid' }];
}

export function installFastApiErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((err: FastifyError, req, reply: FastifyReply) => {
    const send = (status: number, detail: unknown) =>
      reply.code(status).type('application/json; charset=utf-8').send({ detail });
    const issues = validationIssues(err);
    if (issues) {
      const d = validationDetails(issues);
      req.log.info({ statusCode: 422, detail: d }, 'request rejected');
      return send(422, d);
    }
    if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY')
      return send(422, [{ loc: ['body'], msg: 'Field required', type: 'missing' }]);
    if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY')
      return send(422, jsonInvalid(err, req));
    const c = classify(err);
    logError(req, err, c);
    if (c.headers) reply.headers(c.headers);
    return send(c.statusCode, c.statusCode >= 500 ? c.error : c.message);
  });
  scope.setNotFoundHandler((_req, reply) =>
    reply.code(404).type('application/json; charset=utf-8').send({ detail: 'Not Found' }),
  );
}
