/** Operator-side helpers for the push tests (the admin API over the real socket). */
import { ADMIN } from '../../helpers/app.js';
import { http } from './sim.js';

export function enqueue(base: string, deviceId: string, cmd: Record<string, unknown>) {
  return http(`${base}/admin/push/devices/${deviceId}/commands`, {
    method: 'POST',
    headers: { ...ADMIN, 'content-type': 'application/json' },
    body: JSON.stringify(cmd),
  });
}

export async function enqueueOk(base: string, deviceId: string, cmd: Record<string, unknown>): Promise<string> {
  const r = await enqueue(base, deviceId, cmd);
  if (r.status !== 201) throw new Error(`enqueue: ${r.status} ${r.text}`);
  return (JSON.parse(r.text) as { id: string }).id;
}

export async function command(
  base: string,
  id: string,
  query = '',
): Promise<Record<string, unknown> & { status: string }> {
  const r = await http(`${base}/admin/push/commands/${id}${query}`, { headers: ADMIN });
  if (r.status !== 200) throw new Error(`command ${id}: ${r.status} ${r.text}`);
  return JSON.parse(r.text) as Record<string, unknown> & { status: string };
}
