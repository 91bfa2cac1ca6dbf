import type { Netns } from '../linux/netlink.js';
import type { SocketLayer } from '../linux/sock/stack.js';
import type { Machine, PodRuntime } from '../k8s/cluster/world.js';
import { tryParseIpv4 } from '../wire/ipv4-address.js';
import type { Runtime } from './runtime.js';

/** Where a command runs or a packet starts: a namespace with its sockets and address. */
export interface Place {
  /** How the user would name it: `pod/k8s/web-x`, `node/192.168.4.88`, `host/laptop`. */
  readonly label: string;
  readonly kind: 'pod' | 'node' | 'host';
  readonly netns: Netns;
  readonly sockets: SocketLayer;
  readonly ip: string;
  readonly machine: Machine;
  readonly pod?: PodRuntime;
}

export class EndpointError extends Error {
  override readonly name = 'EndpointError';
}

function machinePlace(m: Machine): Place {
  return { label: `${m.role === 'node' ? 'node' : 'host'}/${m.name}`, kind: m.role === 'node' ? 'node' : 'host', netns: m.root, sockets: m.sockets, ip: m.ip, machine: m };
}

function podPlace(p: PodRuntime): Place {
  return { label: `pod/${p.pod.metadata.namespace}/${p.pod.metadata.name}`, kind: 'pod', netns: p.netns, sockets: p.sockets, ip: p.pod.status!.podIP!, machine: p.node, pod: p };
}

/**
 * Resolves what `show` and `--from` accept: a node name or IP, `node/NAME`, `host/NAME`,
 * `pod/NS/NAME`, or a pod IP (a host-network pod's IP is its node's).
 */
export function resolvePlace(rt: Runtime, text: string): Place {
  const w = rt.world;
  const [kind, ...rest] = text.split('/');
  if (kind === 'pod') {
    if (rest.length !== 2) throw new EndpointError(`"${text}": a pod is named pod/NAMESPACE/NAME`);
    const p = w.pods.get(`${rest[0]}/${rest[1]}`);
    if (!p) throw new EndpointError(`no pod ${rest[0]}/${rest[1]} (pods in ${rest[0]}: ${[...w.pods.keys()].filter((k) => k.startsWith(rest[0] + '/')).map((k) => k.slice(rest[0]!.length + 1)).join(', ') || 'none'})`);
    return podPlace(p);
  }
  if (kind === 'node' || kind === 'host') {
    const m = w.machines.get(rest.join('/'));
    if (!m || (kind === 'node') !== (m.role === 'node')) throw new EndpointError(`no ${kind} "${rest.join('/')}"`);
    return machinePlace(m);
  }
  const m = w.machines.get(text);
  if (m) return machinePlace(m);
  if (tryParseIpv4(text) !== undefined) {
    for (const mm of w.machines.values()) if (mm.ip === text) return machinePlace(mm);
    for (const p of w.pods.values()) if (p.pod.status?.podIP === text && !p.pod.spec.hostNetwork) return podPlace(p);
    throw new EndpointError(`no node, pod or host has the address ${text}`);
  }
  throw new EndpointError(`"${text}" is not a node, host/NAME, pod/NS/NAME or an address of one`);
}
