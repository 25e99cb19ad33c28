/**
 * Request schemas of the patriot API (zod). Numbers and booleans are accepted the way the original
 * (FastAPI / pydantic, lax mode) accepts them: integers or integer strings; booleans or
 * "true"/"false"/"1"/"0" in any case. Unknown fields are ignored (pydantic's default), so an
 * installer system that sends extra fields today keeps working.
 * Every text must be representable in XML 1.0: control characters other than tab, LF and CR,
 * lone surrogates, U+FFFE and U+FFFF are rejected with 422 (they could not reach Patriot).
 */
import { z } from 'zod';

export const MAX_ID = 2_147_483_647;
export const INSTALLER_USER_NO = 199;

/** Characters XML 1.0 can carry (the `Char` production). */
export const XML_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

const lax = (v: unknown) => (typeof v === 'string' && /^\s*[+-]?\d{1,12}\s*$/.test(v) ? Number(v) : v);
export const int = (min: number, max: number) => z.preprocess(lax, z.number().int().min(min).max(max));

const TRUE = new Set(['true', '1', 'yes', 'on', 't', 'y']);
const FALSE = new Set(['false', '0', 'no', 'off', 'f', 'n']);
export const bool = () =>
  z.preprocess((v) => {
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (TRUE.has(s)) return true;
      if (FALSE.has(s)) return false;
    }
    if (v === 1) return true;
    if (v === 0) return false;
    return v;
  }, z.boolean());

export const text = (max: number) =>
  z.string().max(max).regex(XML_CHARS, {
    message: 'contains a character XML 1.0 cannot carry (a control character or a lone surrogate)',
  });

export const clientId = int(1, MAX_ID);
export const zoneId = int(1, 999);
export const userNo = int(1, MAX_ID).refine((n) => n !== INSTALLER_USER_NO, {
  message: `UserNo ${INSTALLER_USER_NO} is reserved for the installer user`,
});

/** Info fields in the order they appear in the API and in the XML `<Row>`, with their limits and defaults. */
export const infoFields = {
  Name: text(100),
  Alias: text(100),
  Location: text(200),
  area_code: text(20),
  area: text(100),
  BusPhone: text(40),
  Email: text(254),
  OKPassword: text(50),
  SpecRequest: text(2000),
  NoSigsMon: int(0, 99),
  SinceDays: int(0, 999),
  SinceHrs: int(0, 23),
  SinceMins: int(0, 59),
  ResetNosigsIgnored: bool(),
  ResetNosigsDays: int(0, 999),
  ResetNosigsHrs: int(0, 23),
  ResetNosigsMins: int(0, 59),
  InstallDateTime: text(32).regex(/^(\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)?$/, {
    message: 'expected a date YYYY-MM-DD or a date and time YYYY-MM-DDTHH:MM[:SS]',
  }),
  PanelName: text(100),
  PanelSite: text(100),
  KeypadLocation: text(100),
  SPPage: text(4000),
} as const;

export type InfoKey = keyof typeof infoFields;
export const INFO_KEYS = Object.keys(infoFields) as InfoKey[];
export type Info = { [K in InfoKey]: z.output<(typeof infoFields)[K]> };

/** Defaults of omitted info fields on PUT /clients (InstallDateTime: the day of creation, UTC). */
export function infoDefaults(now = new Date()): Info {
  return {
    Name: '',
    Alias: '',
    Location: '',
    area_code: '',
    area: '',
    BusPhone: '',
    Email: '',
    OKPassword: '',
    SpecRequest: '',
    NoSigsMon: 1,
    SinceDays: 1,
    SinceHrs: 0,
    SinceMins: 0,
    ResetNosigsIgnored: true,
    ResetNosigsDays: 7,
    ResetNosigsHrs: 0,
    ResetNosigsMins: 0,
    InstallDateTime: now.toISOString().slice(0, 10),
    PanelName: '',
    PanelSite: '',
    KeypadLocation: '',
    SPPage: '',
  };
}

/** PUT: Name required, the rest optional (defaulted); PATCH: everything optional. */
export const infoPut = z
  .object({ ...infoFields, Name: text(100).min(1) })
  .partial()
  .required({ Name: true });
export const infoPatch = z.object(infoFields).partial();

export const userFields = {
  User_Name: text(100).min(1),
  MobileNo: text(40),
  MobileNoOrder: int(0, 99),
  Email: text(254),
  Type: text(4).regex(/^[A-Za-z]{1,4}$/, { message: 'expected a user type of 1-4 letters, e.g. U' }),
  UserNo: userNo,
  Instructions: text(1000),
  CallOrder: int(0, 999),
} as const;
export type UserKey = keyof typeof userFields;
export const USER_KEYS = Object.keys(userFields) as UserKey[];
export type User = { [K in UserKey]: z.output<(typeof userFields)[K]> };

export const userBody = z.object({
  ...userFields,
  MobileNo: userFields.MobileNo.default(''),
  MobileNoOrder: userFields.MobileNoOrder.default(1),
  Email: userFields.Email.default(''),
  Type: userFields.Type.default('U'),
  Instructions: userFields.Instructions.default(''),
  CallOrder: userFields.CallOrder.default(0),
});

export interface Zone {
  Zone_No: number;
  Zone_area: string;
  ModuleNo: number;
}

// ---- request bodies and headers ----
export const clientIdBody = z.object({ client_id: clientId });
export const putClientBody = z.object({ client_id: clientId, info: infoPut });
export const patchClientBody = z.object({ client_id: clientId, info: infoPatch });
export const putZoneBody = z.object({
  client_id: clientId,
  zone_id: zoneId,
  Zone_area: text(100).default(''),
  ModuleNo: int(0, 999).default(0),
});
export const zoneRefBody = z.object({ client_id: clientId, zone_id: zoneId });
export const userWriteBody = z.object({ client_id: clientId, user: userBody });
export const userRefBody = z.object({ client_id: clientId, user_no: userNo });

export const clientHeaders = z.object({ 'x-client-id': clientId });
export const userHeaders = z.object({ 'x-client-id': clientId, 'x-user-no': userNo });
