/** Patriot test helpers: a real app with a keys file in its data dir, two keys, request shortcuts. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import patriot from '../../../src/modules/patriot/index.js';
import { closesItself, makeApp, tempDir, type TestApp } from '../../helpers/app.js';

export const KEY_A = 'key-a-0123456789-secret';
export const KEY_B = 'key-b-9876543210-secret';

export function keysJson(over: { a?: Record<string, unknown>; b?: Record<string, unknown> } = {}) {
  return [
    {
      key_name: 'Alarm24',
      key: KEY_A,
      enabled: true,
      valid_to: '2099-01-01T00:00:00Z',
      port: 'BASE11',
      installer_name: 'Alarm24 Installasjon AS',
      installer_email: 'install@alarm24.no',
      UseGlobCallOuts: 'True',
      ShowOnCallOuts: 'False',
      GlobCallOuts: 'TLF01BASE01',
      UseGlobCallOuts2: true,
      ShowOnCallOuts2: false,
      GlobCallOuts2: 'TLF02BASE01',
      AltLookup: 'True',
      AltAlarmNo: 'CID4BASE01',
      ConvertType: 'None',
      SIGINTERPRET: 'SIADecimal',
      ClientGroupings: [
        { Description: 'Alarm24', GroupingTypeDescription: 'Alarm24 Tilgang', GroupingAllowMultiple: 'True' },
        { Description: 'Import', GroupingTypeDescription: 'Østfold Sikkerhetsservice AS', GroupingAllowMultiple: true },
      ],
      ...over.a,
    },
    {
      key_name: 'InstallerX',
      key: KEY_B,
      enabled: true,
      valid_to: '2099-01-01T00:00:00Z',
      port: 'BASE05',
      installer_name: 'Installer X',
      installer_email: 'x@installer.no',
      ...over.b,
    },
  ];
}

export interface PatriotApp extends TestApp {
  keysFile: string;
  writeKeys(v: unknown): void;
  req(
    key: string | null,
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as light-my-request's json(): tests read any body shape
  ): Promise<{ statusCode: number; json(): any; body: string; headers: Record<string, unknown> }>;
  xml(keyName: string, id: number): string;
}

export async function makePatriot(
  overrides: Record<string, unknown> = {},
  keys: unknown = keysJson(),
): Promise<PatriotApp> {
  const dataDir = tempDir('fieldhub-patriot-');
  const keysFile = path.join(dataDir, 'keys.json');
  if (keys !== null) writeFileSync(keysFile, JSON.stringify(keys));
  const t = await makeApp(
    { patriot: { keysReloadMs: 100, ...overrides } },
    { modules: [patriot], dataDir, startScheduler: false },
  );
  const close = t.close.bind(t);
  const p = t as PatriotApp;
  p.keysFile = keysFile;
  p.writeKeys = (v) => writeFileSync(keysFile, typeof v === 'string' ? v : JSON.stringify(v));
  p.req = async (key, method, url, body, headers = {}) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  p.xml = (keyName, id) => path.join(t.config.patriot.xmlDir, keyName, `${id}.xml`);
  p.close = async () => {
    await close.call(t);
    const { rmSync } = await import('node:fs');
    rmSync(dataDir, { recursive: true, force: true });
  };
  return p;
}

export const INFO = {
  Name: 'Ola Nordmann',
  Alias: '',
  Location: 'Produksjonsveien 13',
  area_code: '1604',
  area: 'Fredrikstad',
  BusPhone: '69310000',
  Email: 'post@ostsik.no',
  OKPassword: 'franzjager',
  SpecRequest: 'Dette skal gjøres ved alarm på denne kunden.',
  NoSigsMon: 1,
  SinceDays: 1,
  SinceHrs: 0,
  SinceMins: 30,
  ResetNosigsIgnored: true,
  ResetNosigsDays: 7,
  ResetNosigsHrs: 0,
  ResetNosigsMins: 0,
  InstallDateTime: '2023-02-20',
  PanelName: 'Ajax',
  PanelSite: 'Stue',
  KeypadLocation: 'Inngang',
  SPPage: 'Ekstra informasjon som kan være relevant.',
};

export const USER = {
  User_Name: 'User Number 1',
  MobileNo: '+4712345678',
  MobileNoOrder: 1,
  Email: 'user@email.com',
  Type: 'U',
  UserNo: 1,
  Instructions: 'Optional',
  CallOrder: 0,
};

/** makePatriot for one test: closed (data dir removed) when the test finishes, pass or fail. */
export async function buildPatriot(
  overrides: Record<string, unknown> = {},
  keys: unknown = keysJson(),
): Promise<PatriotApp> {
  return closesItself(await makePatriot(overrides, keys));
}
