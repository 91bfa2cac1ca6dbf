/**
 * The netfilter hook lists of one namespace (nf_register_net_hook / nf_hook_slow): per hook
 * an array of registered functions kept sorted by priority (stable for equal priorities, as
 * the kernel inserts after existing entries of the same priority). The order comes only
 * from NF_IP_PRI numbers in src/netfilter/hooks.ts.
 */
import { NF_ACCEPT, NF_DROP, NF_STOLEN, type NfHook, type NfHookOps, type NfHookState, type NfVerdict } from '../netfilter/hooks.js';
import { tracePacketId, type PacketBuffer } from '../wire/packet-buffer.js';
import type { Netns } from './netns.js';

const HOOKS: readonly NfHook[] = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];

export class HookTable {
  private readonly lists = new Map<NfHook, NfHookOps[]>(HOOKS.map((h) => [h, []]));
  /** Precomputed per hook: empty lists are skipped without building a hook state. */
  PREROUTING: NfHookOps[] = [];
  INPUT: NfHookOps[] = [];
  FORWARD: NfHookOps[] = [];
  OUTPUT: NfHookOps[] = [];
  POSTROUTING: NfHookOps[] = [];

  register(ops: readonly NfHookOps[]): void {
    for (const o of ops) {
      const l = this.lists.get(o.hook)!;
      let i = 0;
      while (i < l.length && l[i]!.priority <= o.priority) i++;
      l.splice(i, 0, o);
    }
    this.refresh();
  }

  unregister(ops: readonly NfHookOps[]): void {
    for (const o of ops) {
      const l = this.lists.get(o.hook)!;
      const i = l.indexOf(o);
      if (i >= 0) l.splice(i, 1);
    }
    this.refresh();
  }

  list(h: NfHook): readonly NfHookOps[] {
    return this.lists.get(h)!;
  }

  private refresh(): void {
    for (const h of HOOKS) this[h] = [...this.lists.get(h)!];
  }
}

/**
 * nf_hook_slow: runs `list` in order until one answers DROP or STOLEN. Only called when
 * the list is non-empty.
 */
export function runHooks(
  netns: Netns,
  list: readonly NfHookOps[],
  hook: NfHook,
  packet: PacketBuffer,
  inDev: string | null,
  outDev: string | null,
  physInDev: string | null = null,
  physOutDev: string | null = null,
): NfVerdict {
  // --physdev-is-bridged: the frame is being bridged, i.e. it has a bridge output port.
  const state: NfHookState = physInDev !== null || physOutDev !== null
    ? { hook, inDev, outDev, physInDev, physOutDev, bridged: physOutDev !== null, netns }
    : { hook, inDev, outDev, netns };
  return runHooksWith(netns, list, hook, packet, state);
}

/**
 * The OUTPUT hooks of a locally generated packet, and whether one asked for a new route
 * (ip_route_me_harder: mangle changed the mark, TOS or addresses).
 */
export function runOutputHooks(netns: Netns, list: readonly NfHookOps[], packet: PacketBuffer, outDev: string): { verdict: NfVerdict; reroute: boolean } {
  const state: NfHookState = { hook: 'OUTPUT', inDev: null, outDev, netns, reroute: false };
  const verdict = runHooksWith(netns, list, 'OUTPUT', packet, state);
  return { verdict, reroute: state.reroute === true };
}

function runHooksWith(netns: Netns, list: readonly NfHookOps[], hook: NfHook, packet: PacketBuffer, state: NfHookState): NfVerdict {
  if (netns.trace !== null) return runHooksTraced(netns, list, hook, packet, state, state.outDev ?? state.inDev ?? '');
  for (let i = 0; i < list.length; i++) {
    const v = list[i]!.fn(packet, state);
    if (v === NF_DROP || v === NF_STOLEN) return v;
  }
  return NF_ACCEPT;
}

function runHooksTraced(netns: Netns, list: readonly NfHookOps[], hook: NfHook, packet: PacketBuffer, state: NfHookState, dev: string): NfVerdict {
  const id = tracePacketId(packet);
  // Hooks can send other packets (REJECT, ICMP errors) whose hooks nest inside these.
  const outer = netns.hookPacket;
  try {
    for (let i = 0; i < list.length; i++) {
      const o = list[i]!;
      netns.hookPacket = id;
      const v = o.fn(packet, state);
      netns.trace?.record({ kind: 'linux.nf_hook', time: netns.clock.now, node: netns.node, netns: netns.netns, dev, step: `${o.owner}:${hook}`, hook, owner: o.owner, priority: o.priority, verdict: v === NF_ACCEPT ? 'ACCEPT' : v === NF_DROP ? 'DROP' : 'STOLEN', packet: id });
      if (v === NF_DROP || v === NF_STOLEN) return v;
    }
    return NF_ACCEPT;
  } finally {
    netns.hookPacket = outer;
  }
}
