/**
 * `bridge fdb show [br BR] [dev DEV]` (bridge/fdb.c over rtnl_fdb_dump): devices in ifindex order; a
 * port lists its bridge entries then its own multicast list (`self permanent`); a bridge
 * lists its own list then the entries for itself; a vxlan device lists its FDB.
 */
import { formatMac } from '../../wire/mac-address.js';
import { BridgeDevice } from '../link/bridge.js';
import { VxlanDevice } from '../link/vxlan.js';
import type { Netns } from '../netns.js';

export function bridgeFdb(ns: Netns, o: { br?: string; dev?: string } = {}): string {
  const lines: string[] = [];
  for (const d of ns.devicesInOrder()) {
    if (o.br !== undefined && d.name !== o.br && d.master?.name !== o.br) continue;
    if (o.dev !== undefined && d.name !== o.dev) continue;
    if (d.linkType !== 'ether') continue;
    const self = d.mcList.map((m) => `${formatMac(m)} dev ${d.name} self permanent`);
    if (d instanceof VxlanDevice) lines.push(...d.fdbLines());
    else if (d instanceof BridgeDevice) lines.push(...self, ...d.fdbLines(d));
    else if (d.master) lines.push(...d.master.fdbLines(d), ...self);
    else lines.push(...self);
  }
  // `bridge fdb show dev D` leaves out the `dev D` token it filtered on.
  const out = o.dev === undefined ? lines : lines.map((l) => l.replace(` dev ${o.dev} `, ' '));
  return out.length ? out.join('\n') + '\n' : '';
}
