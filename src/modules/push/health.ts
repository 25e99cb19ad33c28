/** The push module's health (the console's tile) and the paged device list, for /admin/push. */
import { pageFromArray } from '../../core/paging.js';
import type { DevicePageQuery } from './schemas.js';
import type { Device } from './device-index.js';
import type { PushService } from './service.js';

const byId = (a: Device, b: Device) => (BigInt(a.id) < BigInt(b.id) ? -1 : BigInt(a.id) > BigInt(b.id) ? 1 : 0);
const SORTS: Record<DevicePageQuery['sort'], (a: Device, b: Device) => number> = {
  id: byId,
  lastSeen: (a, b) => a.lastSeenMs - b.lastSeenMs || byId(a, b),
  queued: (a, b) => a.queued - b.queued || byId(a, b),
  address: (a, b) => (a.address ?? '').localeCompare(b.address ?? '') || byId(a, b),
};

export function devicePage(svc: PushService, q: DevicePageQuery, now = Date.now()) {
  let rows = [...svc.devices.values()];
  if (q.q) rows = rows.filter((d) => d.id.includes(q.q!) || (d.address ?? '').includes(q.q!));
  if (q.online) rows = rows.filter((d) => svc.isOnline(d, now) === (q.online === 'true'));
  rows.sort(SORTS[q.sort]);
  if (q.order === 'desc') rows.reverse();
  const { total, items } = pageFromArray(rows, q);
  return {
    total,
    devices: items.map((d) => ({
      deviceId: d.id,
      registeredAt: new Date(d.registeredMs).toISOString(),
      lastSeenAt: d.lastSeenMs > 0 ? new Date(d.lastSeenMs).toISOString() : null,
      address: d.address,
      online: svc.isOnline(d, now),
      queued: d.queued,
      inFlight: d.inFlight !== null,
    })),
  };
}

export type HealthStatus = 'green' | 'amber' | 'red';

export function pushHealth(svc: PushService, offlinePolls: number) {
  return async (now = Date.now()) => {
    const offlineMs = offlinePolls * svc.cfg.pollPeriodSeconds * 1000;
    let online = 0;
    let offline = 0;
    let queued = 0;
    let inFlight = 0;
    const offlineIds: string[] = [];
    for (const d of svc.devices.values()) {
      queued += d.queued;
      if (d.inFlight) inFlight++;
      if (d.lastSeenMs > 0 && now - d.lastSeenMs <= offlineMs) online++;
      else {
        offline++;
        if (offlineIds.length < 5) offlineIds.push(d.id);
      }
    }
    const failed24h = await svc.store.failedSince(new Date(now - 86_400_000));
    const reasons: string[] = [];
    let status: HealthStatus = 'green';
    if (offline > 0) {
      status = 'red';
      reasons.push(
        `${offline} device(s) not seen for more than ${offlinePolls} poll periods: ${offlineIds.join(', ')}${offline > offlineIds.length ? ', ...' : ''}`,
      );
    }
    if (failed24h > 0) {
      if (status === 'green') status = 'amber';
      reasons.push(`${failed24h} command(s) failed or expired in the last 24 h`);
    }
    if (reasons.length === 0)
      reasons.push(svc.devices.size ? `all ${svc.devices.size} device(s) online` : 'no devices yet');
    return {
      module: 'push',
      status,
      reasons,
      counts: { devices: svc.devices.size, online, offline, failed24h, queued, inFlight },
    };
  };
}
