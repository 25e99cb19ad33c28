/** Bare routes answering what the patriot API answers (same JSON), without auth, store or XML. */
import type { FastifyInstance } from 'fastify';

export const SAMPLE_INFO = {
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
export const SAMPLE_ZONE = { Zone_No: 1, Zone_area: 'Inngang', ModuleNo: 0 };
export const SAMPLE_USER = {
  User_Name: 'User Number 1',
  MobileNo: '+4712345678',
  MobileNoOrder: 1,
  Email: 'user@email.com',
  Type: 'U',
  UserNo: 1,
  Instructions: 'Optional',
  CallOrder: 0,
};
const client = (id: number) => ({
  client_id: id,
  info: SAMPLE_INFO,
  zones: { '1': SAMPLE_ZONE },
  users: { '1': SAMPLE_USER },
});

export default async function barePatriot(app: FastifyInstance): Promise<void> {
  app.put('/bare/patriot/clients', async (req, reply) =>
    reply.code(201).send({ ...client((req.body as { client_id: number }).client_id), zones: {}, users: {} }),
  );
  app.put('/bare/patriot/clients/zones', async (req, reply) =>
    reply.code(201).send({ client_id: (req.body as { client_id: number }).client_id, zone: SAMPLE_ZONE }),
  );
  app.post('/bare/patriot/clients/users', async (req, reply) =>
    reply.code(201).send({ client_id: (req.body as { client_id: number }).client_id, user: SAMPLE_USER }),
  );
  app.get('/bare/patriot/clients', async (req) => client(Number(req.headers['x-client-id'])));
}
