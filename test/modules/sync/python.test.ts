/**
 * Wire compatibility with NetAlertX's Python side: encryption vectors from pycryptodome exactly as
 * server/crypto_utils.py does it, a `requests` client posting as the SYNC plugin's send_data, and
 * a hub reading GET /sync as the SYNC plugin's get_data does.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { decryptData, encryptData } from '../../../src/modules/sync/crypto.js';
import { ADMIN, closesItself } from '../../helpers/app.js';
import { AUTH, device, files, processNow, PY, PY_CRYPTO, pythonMissing, runPython, syncApp, TOKEN } from './helpers.js';

const missing = pythonMissing();
if (missing) console.warn(`skipping the Python compatibility tests: ${missing}`);
const describePy = missing ? describe.skip : describe;

describePy('NetAlertX encrypt_data / decrypt_data (pycryptodome)', () => {
  it('matches vectors produced by pycryptodome, byte for byte, both ways', async () => {
    const cases = [
      ['', 'k'],
      ['a', ''],
      ['{"data": []}', 'passphrase'],
      ['exactly 16 bytes', 'key with spaces and ünïcödé'],
      [JSON.stringify({ data: [device(1), device(2)] }), 'NetAlertX-sync-key'],
      ['x'.repeat(1000) + '€🙂', '🔑'],
    ];
    const ivs = cases.map((_, i) => Buffer.alloc(16, i * 17 + 3));
    const script = `${PY_CRYPTO}
cases = json.loads(sys.stdin.read())
out = []
for c in cases:
    fixed = encrypt_data(c['plain'], c['key'], base64.b64decode(c['iv']))
    rnd = encrypt_data(c['plain'], c['key'])
    out.append({'fixed': fixed, 'random': rnd, 'back': decrypt_data(c['node'], c['key'])})
print(json.dumps(out))
`;
    const input = cases.map(([plain, key], i) => ({
      plain,
      key,
      iv: ivs[i]!.toString('base64'),
      node: encryptData(plain!, key!),
    }));
    const out = JSON.parse(await runPython(script, [], JSON.stringify(input))) as Array<{
      fixed: string;
      random: string;
      back: string;
    }>;
    out.forEach((o, i) => {
      const [plain, key] = cases[i]!;
      expect(encryptData(plain!, key!, ivs[i])).toBe(o.fixed); // same IV: identical payload
      expect(o.fixed.slice(0, 24)).toBe(ivs[i]!.toString('base64'));
      expect(decryptData(o.random, key!)).toBe(plain); // python's random IV decrypts here
      expect(o.back).toBe(plain); // ours decrypts in python
    });
  });
});

describePy('a Python requests client as the SYNC plugin', () => {
  it('posts form-encoded encrypted data like send_data(); the hub stores, decrypts and upserts', async () => {
    const t = closesItself(await syncApp({ encryptionKey: 'sync-passphrase' }));
    const url = await t.listen();
    const script = `${PY_CRYPTO}
import requests
hub_url, api_token, encryption_key = sys.argv[1], sys.argv[2], sys.argv[3]
devices = json.loads(sys.stdin.read())
file_content = json.dumps({'data': devices})
encrypted_data = encrypt_data(file_content, encryption_key)
data = {'data': encrypted_data, 'file_path': '/app/api/table_devices.json', 'plugin': 'SYNC', 'node_name': 'Node_1'}
headers = {'Authorization': f'Bearer {api_token}'}
r = requests.post(f"{hub_url}/sync", data=data, headers=headers)
bad = requests.post(f"{hub_url}/sync", data=data, headers={'Authorization': 'Bearer nope'})
print(json.dumps({'status': r.status_code, 'json': r.json(), 'bad_status': bad.status_code, 'bad': bad.json(), 'ctype': r.request.headers['Content-Type']}))
`;
    const list = [device(1, { devName: 'Kitchen TV' }), device(2)];
    const res = JSON.parse(await runPython(script, [url, TOKEN, 'sync-passphrase'], JSON.stringify(list)));
    expect(res).toEqual({
      status: 200,
      json: { message: 'Data received and stored successfully' },
      bad_status: 403,
      bad: { success: false, message: 'ERROR: Not authorized', error: 'Forbidden' },
      ctype: 'application/x-www-form-urlencoded',
    });
    await processNow(t);
    expect(await files(t)).toEqual(['processed_last_result.SYNC.Node_1.1.log']);
    const d = (await t.app.inject({ url: '/sync/devices', headers: AUTH })).json();
    expect(d.devices.map((x: Record<string, unknown>) => [x.devName, x.devSyncHubNode])).toEqual([
      ['Kitchen TV', 'Node_1'],
      ['Device 2', 'Node_1'],
    ]);
  });

  it('a NetAlertX hub reads GET /sync as get_data() does: base64 JSON with the keys its insert uses', async () => {
    const t = closesItself(await syncApp({ nodeName: 'FIELD-NODE' }));
    const url = await t.listen();
    await t.app.inject({
      method: 'POST',
      url: '/sync',
      headers: { ...AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        data: JSON.stringify({ data: [device(1), { devMac: '11:22:33:44:55:66', devName: 'bare' }] }),
        node_name: 'X',
        plugin: 'SYNC',
      }).toString(),
    });
    await processNow(t);
    const script = `
import requests, base64, json, sys
node_url, api_token = sys.argv[1], sys.argv[2]
response = requests.get(f"{node_url}/sync", headers={'Authorization': f'Bearer {api_token}'})
response_json = response.json()
node_name = response_json.get('node_name', 'unknown_node')
decoded_data = base64.b64decode(response_json.get('data_base64', ''))
data = json.loads(decoded_data)
rows = []
for device in data['data']:
    rows.append([device['devMac'], device['devLastIP'], device['devName'], device['devVendor'], device['devSyncHubNode'], device['devGUID'], device['devPresentLastScan']])
keys = [list(d.keys()) for d in data['data']]
print(json.dumps({'status': response.status_code, 'node': node_name, 'rows': rows, 'same_keys': all(k == keys[0] for k in keys)}))
`;
    const res = JSON.parse(await runPython(script, [url, TOKEN]));
    expect(res).toEqual({
      status: 200,
      node: 'FIELD-NODE',
      rows: [
        // devLastIP is NOT NULL (filled with ''), devVendor and devGUID are nullable in NetAlertX (served as null, issue 13)
        ['11:22:33:44:55:66', '', 'bare', null, 'X', null, 0],
        ['aa:bb:cc:00:00:01', '10.0.0.1', 'Device 1', 'Vendor A', 'X', 'guid-1', 1],
      ],
      same_keys: true,
    });
  });
});

describePy('pulling a NetAlertX node (Python, as sync_endpoint.handle_sync_get answers)', () => {
  it('fieldhub pulls the node, decodes data_base64 and stores its devices under the node name', async () => {
    const script = `
import base64, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
token = sys.argv[1]
table = json.dumps({'data': [
  {'devMac': '00:11:22:33:44:55', 'devName': 'Device 1', 'devVendor': 'Vendor A', 'devLastIP': '192.168.1.10', 'devPresentLastScan': 1, 'rowid': 1, 'devStatus': 'On-line'},
  {'devMac': '66:77:88:99:AA:BB', 'devName': '(unknown)', 'devVendor': '', 'devLastIP': '192.168.1.11', 'devPresentLastScan': 0, 'rowid': 2, 'devStatus': 'Off-line'}]})
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path != '/sync' or self.headers.get('Authorization') != 'Bearer ' + token:
            body, code = json.dumps({'success': False, 'message': 'ERROR: Not authorized', 'error': 'Forbidden'}), 403
        else:
            body, code = json.dumps({'node_name': 'NAX-NODE', 'status': 200, 'message': 'OK',
                'data_base64': base64.b64encode(table.encode()).decode(), 'timestamp': '2025-08-24T10:15:00+10:00'}), 200
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())
s = HTTPServer(('127.0.0.1', 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
`;
    const child = spawn(PY, ['-c', script, TOKEN], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (c: Buffer) => resolve(Number(c.toString().trim())));
        child.once('exit', (code) => reject(new Error(`python node exited ${code}`)));
      });
      const t = closesItself(await syncApp({ pullNodes: [`http://127.0.0.1:${port}`] }));
      const r = await t.app.inject({ method: 'POST', url: '/admin/sync/pull', headers: ADMIN });
      expect(r.json().value).toEqual([{ url: `http://127.0.0.1:${port}/sync`, ok: true, node: 'NAX-NODE', seq: 1 }]);
      await processNow(t);
      const d = (await t.app.inject({ url: '/sync/devices', headers: AUTH })).json();
      expect(d.devices).toEqual([
        expect.objectContaining({
          devMac: '00:11:22:33:44:55',
          devName: 'Device 1',
          devLastIP: '192.168.1.10',
          devSyncHubNode: 'NAX-NODE',
        }),
        expect.objectContaining({
          devMac: '66:77:88:99:aa:bb',
          devName: '(unknown)',
          devPresentLastScan: 0,
          devSyncHubNode: 'NAX-NODE',
        }),
      ]);
      expect(d.devices[0]).not.toHaveProperty('rowid');
      expect(await files(t)).toEqual(['processed_last_result.SYNC.NAX-NODE.1.log']);
    } finally {
      child.kill();
    }
  });
});
