/**
 * The error format of each route group (docs/<module>.md), as checks over a raw answer.
 * `groupOf` maps a request path to the group whose error handler answers it.
 */
export type Group = 'sync' | 'push' | 'conduit' | 'patriot' | 'admin' | 'core';
export const GROUPS: Group[] = ['sync', 'push', 'conduit', 'patriot', 'admin', 'core'];

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

const under = (p: string, prefix: string) => p === prefix || p === `${prefix}/` || p.startsWith(`${prefix}/`);

/** Which error handler answers `path` (without query). The push device routes have no scope 404 of their own. */
export function groupOf(method: string, rawPath: string): Group {
  const p = rawPath.split(/[?#]/)[0]!;
  if (under(p, '/admin')) return 'admin';
  if (under(p, '/sync')) return 'sync';
  if (under(p, '/conduitv6') || under(p, '/conduitv4')) return 'conduit';
  if (under(p, '/clients')) return 'patriot';
  if ((p === '/push' || p === '/push/') && method === 'GET') return 'push';
  if ((p === '/result' || p === '/result/') && method === 'POST') return 'push';
  return 'core';
}

function json(a: Answer): unknown {
  try {
    return JSON.parse(a.body) as unknown;
  } catch {
    return Symbol.for('not json');
  }
}

const ROUTER_ERROR = /is not a valid url component$|is exceeding the max param length$/;
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => typeof v === 'string';

function coreOk(v: unknown, status: number): boolean {
  if (!isObj(v)) return false;
  const keys = Object.keys(v).sort().join(',');
  return (
    (keys === 'error,message,statusCode' || keys === 'error,message,statusCode,validation') &&
    v.statusCode === status &&
    str(v.error) &&
    str(v.message)
  );
}

/**
 * Checks an error answer (status >= 400) against its group's documented format; returns a reason
 * when it does not conform. 2xx/3xx answers are the route's own business.
 */
export function shapeProblem(group: Group, a: Answer): string | undefined {
  if (a.status < 400) return undefined;
  const ct = String(a.headers['content-type'] ?? '');
  if (a.body === '') return `empty ${a.status} body`;
  const v = json(a);
  if (!/^application\/json/.test(ct)) return `content-type ${ct || '(none)'} on a ${a.status}`;
  // a URL the router cannot take is answered before any module scope: core shape, as an unknown path
  if (
    (a.status === 400 || a.status === 414) &&
    coreOk(v, a.status) &&
    ROUTER_ERROR.test(String((v as { message: unknown }).message))
  )
    return undefined;
  switch (group) {
    case 'sync':
      if (a.status === 403) {
        return isObj(v) &&
          v.success === false &&
          v.message === 'ERROR: Not authorized' &&
          v.error === 'Forbidden' &&
          Object.keys(v).length === 3
          ? undefined
          : 'sync 403 is not NetAlertX\'s {"success":false,"message":"ERROR: Not authorized","error":"Forbidden"}';
      }
      // issue 13: NetAlertX 26.2+'s 415 body and 26.6's 422 body (JSON POST that does not validate)
      if (a.status === 415) {
        return isObj(v) &&
          v.success === false &&
          v.error === 'Invalid Content-Type' &&
          str(v.message) &&
          Object.keys(v).length === 3
          ? undefined
          : 'sync 415 is not {"success":false,"error":"Invalid Content-Type","message":...}';
      }
      if (a.status === 422) {
        return isObj(v) &&
          v.success === false &&
          str(v.error) &&
          Array.isArray(v.details) &&
          Object.keys(v).length === 3
          ? undefined
          : 'sync 422 is not {"success":false,"error":...,"details":[...]}';
      }
      return isObj(v) && v.success === false && str(v.error) && Object.keys(v).length === 2
        ? undefined
        : 'not sync {"success":false,"error":...}';
    case 'push':
      return isObj(v) && str(v.error) && Object.keys(v).length === 1 ? undefined : 'not push {"error":...}';
    case 'conduit':
      return isObj(v) && v.code === String(a.status) && str(v.error) && Object.keys(v).length === 2
        ? undefined
        : 'not conduit {"code":"<status>","error":...}';
    case 'patriot': {
      if (!isObj(v) || Object.keys(v).length !== 1) return 'not patriot {"detail": ...}';
      const d = v.detail;
      if (a.status === 422) {
        const okList =
          Array.isArray(d) &&
          d.length > 0 &&
          d.every(
            (x) =>
              isObj(x) &&
              Array.isArray(x.loc) &&
              x.loc.every((l) => str(l) || typeof l === 'number') &&
              str(x.msg) &&
              str(x.type),
          );
        return okList ? undefined : 'patriot 422 detail is not a list of {loc,msg,type}';
      }
      return str(d) ? undefined : 'patriot detail is not a string';
    }
    case 'admin':
    case 'core':
      return coreOk(v, a.status) ? undefined : 'not core {"statusCode","error","message"}';
  }
}
