// The real-kernel replay of a model world: the commands that build, in real network
// namespaces, what the model holds. The agents' actions are replayed as logged; only what
// build.ts makes directly (the "hardware": namespaces and NICs on underlay segments) is
// made here, since no agent command stands for it.
import type { Action } from '../k8s/cluster/actions.js';
import type { World } from '../k8s/cluster/world.js';
import type { NetDevice } from '../linux/link/device.js';
import type { NicDevice } from '../linux/link/nic.js';
import type { Netns } from '../linux/netns.js';
import { formatMac } from '../wire/mac-address.js';

export const DEFAULT_PREFIX = 'kw';

/** One host command. `ns` is the real namespace it acts in (for reports), `action` what it replays. */
export interface KernelCommand {
  readonly argv: readonly string[];
  readonly input?: string;
  readonly ns: string;
  /** 'netns' creates a namespace, 'hw' is hardware emulation, 'action' replays an agent's command. */
  readonly phase: 'netns' | 'hw' | 'action';
  readonly action?: Action;
  /**
   * Set when this kernel is known not to run the command (no dummy module, no IPVS): the
   * command is not run and the reason is reported instead.
   */
  readonly unavailable?: string;
}

export interface KernelPlan {
  readonly prefix: string;
  /** Every namespace made, in creation order (the switch first). */
  readonly namespaces: readonly string[];
  /** The namespace holding one bridge per underlay segment. */
  readonly switchNs: string;
  readonly commands: readonly KernelCommand[];
  /** model `machine/netns` -> real namespace name. */
  readonly nsOf: ReadonlyMap<string, string>;
  /** Real (namespace, device) -> the model's `machine/netns/dev` name, for captures. */
  readonly devices: readonly PlannedDevice[];
}

export interface PlannedDevice {
  readonly ns: string;
  readonly dev: string;
  /** The model's interface name, `machine/netns/dev`; switch ports are `switch/<segment>/<port>`. */
  readonly label: string;
}

export interface PlanOptions {
  readonly prefix?: string;
  /** Which link kinds `ip link add` cannot make here (default: dummy). */
  readonly missingLinkKinds?: readonly string[];
  /** False when the kernel has no IPVS (the default here: ip_vs is not built). */
  readonly ipvs?: boolean;
}

export const IPVS_MISSING = 'IPVS is not available in this kernel (no ip_vs); use --set kubeProxy.mode=iptables';

/** The real namespace name of a model namespace. */
/** `nfacct add NAME` over nfnetlink (NFNL_SUBSYS_ACCT, NFNL_MSG_ACCT_NEW); EEXIST is fine. */
export const NFACCT_ADD = String.raw`
import os, socket, struct, sys
name = sys.argv[1].encode() + b"\0"
attr = struct.pack("=HH", 4 + len(name), 1) + name
attr += b"\0" * ((4 - len(attr) % 4) % 4)
body = struct.pack("=BBH", 0, 0, 0) + attr
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)
s.send(struct.pack("=IHHII", 16 + len(body), 7 << 8, 0x1 | 0x4 | 0x200 | 0x400, 1, 0) + body)
err = struct.unpack("=i", s.recv(4096)[16:20])[0]
if err not in (0, -17):
    sys.exit("nfacct add: " + os.strerror(-err))
`;

export function realNs(prefix: string, machine: string, netns: string): string {
  return `${prefix}-${machine}-${netns}`;
}

export function planKernel(w: World, opts: PlanOptions = {}): KernelPlan {
  const prefix = opts.prefix ?? DEFAULT_PREFIX;
  const missingKinds = new Set(opts.missingLinkKinds ?? ['dummy']);
  const ipvs = opts.ipvs ?? false;
  const commands: KernelCommand[] = [];
  const nsOf = new Map<string, string>();
  const devices: PlannedDevice[] = [];
  const switchNs = `${prefix}-switch`;
  const namespaces = [switchNs];
  const all = w.allNetns();
  for (const ns of all) {
    const real = realNs(prefix, ns.node, ns.netns);
    nsOf.set(`${ns.node}/${ns.netns}`, real);
    namespaces.push(real);
  }
  for (const name of namespaces) {
    commands.push({ argv: ['ip', 'netns', 'add', name], ns: name, phase: 'netns' });
    // A container runtime (and World.netns) leaves lo up.
    // The model is IPv4 only: without IPv6 no link-local addresses, MLD or router
    // solicitations appear in the kernel's tables and captures.
    commands.push({ argv: ['ip', 'netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'], ns: name, phase: 'netns' });
    commands.push({ argv: ['ip', '-n', name, 'link', 'set', 'lo', 'up'], ns: name, phase: 'netns' });
  }

  // Hardware: one bridge per segment in the switch namespace, one veth per NIC.
  const segBridge = new Map<string, string>();
  let segNo = 0;
  for (const seg of w.segments.keys()) {
    const br = `seg${segNo++}`;
    segBridge.set(seg, br);
    commands.push({ argv: ['ip', '-n', switchNs, 'link', 'add', br, 'type', 'bridge'], ns: switchNs, phase: 'hw' });
    commands.push({ argv: ['ip', '-n', switchNs, 'link', 'set', br, 'up'], ns: switchNs, phase: 'hw' });
    devices.push({ ns: switchNs, dev: br, label: `switch/${seg}/${br}` });
  }
  let port = 0;
  for (const ns of all) {
    const real = nsOf.get(`${ns.node}/${ns.netns}`)!;
    for (const d of ns.devicesInOrder()) {
      if (d.kind !== 'nic') continue;
      const seg = (d as NicDevice).segment;
      const br = seg ? segBridge.get(seg.name) : undefined;
      if (!br) continue;
      const sw = `p${port++}`;
      // The machine's side gets the model's MAC and MTU, is left down (the logged
      // `ip link set eth0 up` brings it up), and its switch side is enslaved to the segment.
      commands.push({
        argv: ['ip', '-n', switchNs, 'link', 'add', sw, 'mtu', String(d.mtu), 'type', 'veth', 'peer', 'name', d.name, 'address', formatMac(d.mac), 'mtu', String(d.mtu), 'netns', real],
        ns: switchNs,
        phase: 'hw',
      });
      commands.push({ argv: ['ip', '-n', switchNs, 'link', 'set', sw, 'master', br, 'up'], ns: switchNs, phase: 'hw' });
      devices.push({ ns: switchNs, dev: sw, label: `switch/${seg!.name}/${sw}` });
    }
  }

  const accts = new Set<string>();
  for (const a of w.log.actions) {
    const real = nsOf.get(`${a.node}/${a.netns}`);
    if (!real) throw new Error(`action in unknown namespace ${a.node}/${a.netns}: ${a.argv.join(' ')}`);
    // kube-proxy creates its nfacct counters over netlink (nfacct.Ensure) before the rules that
    // name them; that call is not in the action log, and the kernel refuses a rule naming a
    // counter that does not exist, so the replay makes them first.
    for (const m of `${a.argv.join(' ')} ${a.input ?? ''}`.matchAll(/--nfacct-name\s+(\S+)/g)) {
      const key = `${real}/${m[1]!}`;
      if (accts.has(key)) continue;
      accts.add(key);
      commands.push({ argv: ['ip', 'netns', 'exec', real, 'python3', '-c', NFACCT_ADD, m[1]!], ns: real, phase: 'action', action: { node: a.node, netns: a.netns, agent: a.agent, argv: ['nfacct', 'add', m[1]!] } });
    }
    commands.push(...translate(w, a, real, prefix, missingKinds, ipvs));
  }

  for (const ns of all) {
    const real = nsOf.get(`${ns.node}/${ns.netns}`)!;
    for (const d of ns.devicesInOrder()) devices.push({ ns: real, dev: d.name, label: `${ns.node}/${ns.netns}/${d.name}` });
  }
  return { prefix, namespaces, switchNs, commands, nsOf, devices };
}

function translate(w: World, a: Action, real: string, prefix: string, missingKinds: Set<string>, ipvs: boolean): KernelCommand[] {
  const [tool, ...args] = a.argv;
  const base = { ns: real, phase: 'action' as const, action: a };
  const exec = (argv: string[], input?: string): KernelCommand => ({ ...base, argv: ['ip', 'netns', 'exec', real, ...argv], ...(input !== undefined ? { input } : {}) });
  switch (tool) {
    case 'ip': {
      const words = rewriteNetns(args, prefix, a.node);
      if (words[0] === 'link' && words[1] === 'add') {
        const type = words[words.indexOf('type') + 1];
        if (type !== undefined && missingKinds.has(type)) {
          return [{ ...base, argv: ['ip', '-n', real, ...words], unavailable: `this kernel cannot make a ${type} link (no ${type} module)` }];
        }
        return [{ ...base, argv: ['ip', '-n', real, ...withModelMacs(w, a, words)] }];
      }
      return [{ ...base, argv: ['ip', '-n', real, ...words] }];
    }
    case 'bridge':
      return [{ ...base, argv: ['bridge', '-n', real, ...args] }];
    case 'ipvsadm':
      return [ipvs ? exec([...a.argv], a.input) : { ...exec([...a.argv], a.input), unavailable: IPVS_MISSING }];
    case 'sysctl':
    case 'iptables':
    case 'iptables-restore':
    case 'ipset':
      if (!ipvs && tool === 'sysctl' && args.some((x) => x.startsWith('net.ipv4.vs.'))) return [{ ...exec([...a.argv]), unavailable: IPVS_MISSING }];
      return [exec([...a.argv], a.input)];
    default:
      return [{ ...exec([...a.argv], a.input), unavailable: `no real-kernel replay for "${tool ?? ''}"` }];
  }
}

/** `netns NAME` inside an ip command names a namespace of the same machine. */
function rewriteNetns(args: readonly string[], prefix: string, machine: string): string[] {
  const out = [...args];
  for (let i = 0; i + 1 < out.length; i++) if (out[i] === 'netns') out[i + 1] = realNs(prefix, machine, out[i + 1]!);
  return out;
}

/**
 * veth and vxlan MACs are random on a real system; the replay gives each end the MAC the
 * model chose so frames and tables compare byte for byte. Bridges keep the kernel's choice
 * (br_stp_recalculate_bridge_id), which the model must reproduce itself.
 */
function withModelMacs(w: World, a: Action, words: string[]): string[] {
  const args = a.argv.slice(1);
  const name = args[2];
  const type = args[args.indexOf('type') + 1];
  if (name === undefined || (type !== 'veth' && type !== 'vxlan')) return words;
  const here = w.getNetns(a.node, a.netns);
  const mac = (ns: Netns | undefined, dev: string): string | undefined => {
    const d: NetDevice | undefined = ns?.dev(dev);
    return d ? formatMac(d.mac) : undefined;
  };
  const out = [...words];
  const ti = out.indexOf('type');
  if (type === 'veth') {
    const pi = out.indexOf('peer');
    if (pi >= 0 && out[pi + 1] === 'name' && out[pi + 2] !== undefined) {
      const ni = args.indexOf('netns', args.indexOf('peer'));
      const peerNs = ni >= 0 ? w.getNetns(a.node, args[ni + 1]!) : here;
      const pm = mac(peerNs, args[args.indexOf('peer') + 2]!);
      if (pm) out.splice(pi + 3, 0, 'address', pm);
    }
  }
  const m = mac(here, name);
  if (m && !out.slice(0, ti).includes('address')) out.splice(ti, 0, 'address', m);
  return out;
}
