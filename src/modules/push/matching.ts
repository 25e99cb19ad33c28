/**
 * Which command a device's result answers (docs/push.md, "Matching"): a uuid is a fieldhub command
 * id, else a device uuid bound to a delivery, else — when the device's in-flight delivery has no
 * bound uuid — that delivery; no uuid: the in-flight command. A reported endpoint must be the
 * delivered command's (compared without ".fcgi"). Runs inside the store's result transaction.
 */
import { sameEndpoint } from './command.js';
import type { CommandRow, DeliveryRow } from './rows.js';

/** The reads the matching needs (the store's prepared statements). */
export interface MatchLookups {
  byId(id: string): CommandRow | undefined;
  bySeq(seq: number): CommandRow | undefined;
  /** the command a device uuid was bound to at delivery */
  seqOfDeviceUuid(deviceId: string, uuid: string): number | undefined;
  inFlight(deviceId: string): CommandRow | undefined;
  lastDelivery(seq: number): DeliveryRow | undefined;
}

/** The delivered command the result answers, or why there is none. */
export function matchResult(
  l: MatchLookups,
  deviceId: string,
  q: { uuid?: string; endpoint?: string },
): { cmd?: CommandRow; reason: string } {
  const { uuid, endpoint } = q;
  let cmd: CommandRow | undefined;
  let reason = 'no command in flight';
  if (uuid !== undefined) {
    cmd = l.byId(uuid);
    if (cmd && cmd.device_id !== deviceId) cmd = undefined;
    if (!cmd) {
      const seq = l.seqOfDeviceUuid(deviceId, uuid);
      if (seq !== undefined) cmd = l.bySeq(seq);
    }
    if (!cmd) {
      const cur = l.inFlight(deviceId);
      const last = cur && l.lastDelivery(cur.seq);
      if (cur && last && last.device_uuid === null) cmd = cur;
      else reason = cur ? 'unknown uuid; the delivery in flight is bound to another uuid' : 'unknown command id';
    }
  } else {
    cmd = l.inFlight(deviceId);
  }
  if (cmd && cmd.status !== 'delivered') return { reason: `command already ${cmd.status}` };
  if (cmd && endpoint !== undefined && !sameEndpoint(endpoint, cmd.endpoint))
    return { reason: `endpoint mismatch: reported ${endpoint}, delivered ${cmd.endpoint}` };
  return { cmd, reason };
}
