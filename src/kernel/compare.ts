// One differential check: the same scenario as a model runtime and in real namespaces, the
// tables of every namespace, then the same exchange on both and what each interface saw and
// each node's conntrack table held. Produces the items the differ compares.
import { captureNetns } from '../linux/capture.js';
import type { CaptureSink } from '../pcap/capture.js';
import { runExchange, resolveTarget, type Proto, type Step } from '../scenario/trace/exchange.js';
import { resolvePlace, type Place } from '../scenario/endpoints.js';
import { formatIpv4, type Ipv4Addr } from '../wire/ipv4-address.js';
import { NUD_NOARP, NUD_PERMANENT } from '../linux/neigh.js';
import type { NetDevice } from '../linux/link/device.js';
import { resolvConfOf } from '../scenario/resolv.js';
import type { Runtime } from '../scenario/runtime.js';
import type { Compared } from './diff.js';
import { describeFrame, frameContext, framesByInterface, type LabelledFrame } from './frames.js';
import { run } from './host.js';
import type { KernelPlan } from './plan.js';
import { realNs } from './plan.js';
import { STATE_KINDS, kernelState, modelState, normaliseConntrack, type StateKind } from './state.js';
import { kernelExchange } from './trace.js';
import { listenersOf } from './workloads.js';

/** `node/netns KIND` for every namespace of the model and every kind. */
export function compareTables(rt: Runtime, plan: KernelPlan, kinds: readonly StateKind[] = STATE_KINDS): Compared[] {
  const items: Compared[] = [];
  for (const ns of rt.world.allNetns()) {
    for (const k of kinds) items.push({ item: `${ns.node}/${ns.netns} ${k}`, model: modelState(rt.world, ns, k), kernel: kernelState(plan.prefix, plan.switchNs, ns, k) });
  }
  return items;
}

export interface ExchangeComparison {
  readonly items: Compared[];
  readonly model: { readonly delivered: boolean; readonly reason: string | null; readonly response: string | null };
  readonly kernel: { readonly delivered: boolean; readonly reason: string | null; readonly response: string | null };
}

/** Ports that are not random: what servers listen on and what Services expose. */
function fixedPorts(rt: Runtime, prefix: string, extra: readonly (number | undefined)[]): number[] {
  const ports = listenersOf(rt, prefix).map((l) => l.port);
  for (const s of rt.state.services) for (const p of s.spec.ports ?? []) {
    ports.push(p.port);
    if (typeof p.targetPort === 'number') ports.push(p.targetPort);
    if (p.nodePort !== undefined) ports.push(p.nodePort);
  }
  for (const p of extra) if (p !== undefined) ports.push(p);
  return ports;
}

/**
 * Sends the exchange in the model (on `rt`, a fresh runtime) and in the kernel (namespaces
 * already up under `plan`), after flushing the kernel's conntrack tables of what setup left.
 */
export interface ExchangeOptions {
  readonly timeout?: number;
  readonly pingSize?: number;
  /**
   * Start from empty conntrack tables on both sides (default; the kernel's with `conntrack -F`
   * once the taps listen, so what the setup left, e.g. IGMP reports, goes too). Entries left by
   * earlier exchanges would otherwise time out on real time in the kernel and on simulated
   * time in the model (an unreplied UDP entry lives 30 s), so each exchange's `conntrack -L`
   * holds what that exchange made.
   */
  readonly flushConntrack?: boolean;
  /**
   * Forget learned neighbours (not PERMANENT/NOARP) on both sides first: their timers run on
   * real time in the kernel and simulated time in the model, so after one exchange their
   * states (REACHABLE, STALE, DELAY, PROBE) are a matter of timing.
   */
  readonly flushNeighbours?: boolean;
  /**
   * Addresses whose traffic is the apps' own background (CoreDNS's loop probe and its forward
   * plugin's health checks): it runs on its own timers, real in the kernel and simulated in
   * the model, so frames and conntrack rows naming these addresses are left out on both sides,
   * with DNS frames (port 53) and ARP naming an address such frames used, on either side.
   */
  readonly background?: readonly string[];
  /**
   * The exchange meets a choice the kernel makes at random and the model by its seeded PRNG
   * (statistic's endpoint, a `--random-fully` source port, whose digits show in an echo body).
   * Both sides start from empty conntrack tables and no learned neighbours; the model sends
   * once, and the kernel up to `attempts` times, each from that same start, until it made the
   * model's choices: the same answer, and frames of the same lengths on every interface.
   * What is then compared is the attempt that did; if none did, the last.
   */
  readonly randomChoice?: { readonly attempts: number };
}

/** `ip neigh flush all` in every namespace of both (it leaves PERMANENT and NOARP entries). */
export function flushNeighbours(rt: Runtime, plan: KernelPlan): void {
  flushModelNeighbours(rt);
  flushKernelNeighbours(rt, plan);
}

/** The model's side of `ip neigh flush all`: every entry but PERMANENT and NOARP ones. */
function flushModelNeighbours(rt: Runtime): void {
  for (const ns of rt.world.allNetns()) {
    for (const d of ns.devicesInOrder()) for (const n of [...d.neighs.values()]) if (!(n.state & (NUD_PERMANENT | NUD_NOARP))) ns.neigh.remove(n);
  }
}

/**
 * Forgets what traffic taught both sides (learned neighbours, learned bridge FDB entries),
 * keeping what agents configured (PERMANENT, NOARP, static and local entries): for comparing
 * when the two sides' apps did not send the same startup traffic.
 */
export function forgetLearned(rt: Runtime, plan: KernelPlan): void {
  flushNeighbours(rt, plan);
  for (const ns of rt.world.allNetns()) {
    for (const d of ns.devicesInOrder()) {
      if (d.kind !== 'bridge') continue;
      for (const p of (d as unknown as { ports: { dev: NetDevice }[] }).ports) (d as unknown as { fdb: { flushDynamic(p: NetDevice): void } }).fdb.flushDynamic(p.dev);
      // br_fdb_flush keeps local and static entries.
      run(['ip', '-n', realNs(plan.prefix, ns.node, ns.netns), 'link', 'set', d.name, 'type', 'bridge', 'fdb_flush']);
    }
  }
}

/** `ip neigh flush all` in every real namespace (learned entries only, as on the model side). */
function flushKernelNeighbours(rt: Runtime, plan: KernelPlan): void {
  for (const ns of rt.world.allNetns()) run(['ip', '-n', realNs(plan.prefix, ns.node, ns.netns), 'neigh', 'flush', 'all']);
}

/** What a random choice changes: the answer, and the length of each frame on each interface. */
function choiceSignature(response: string | null, items: readonly Compared[], side: 'model' | 'kernel'): string {
  const lens = items.filter((it) => it.item.endsWith(' frames')).map((it) => `${it.item}: ${[...it[side].matchAll(/ len (\d+)$/gm)].map((m) => m[1]).join(',')}`);
  return JSON.stringify([response, lens.sort()]);
}

export async function compareExchange(rt: Runtime, plan: KernelPlan, fromText: string, toText: string, proto: Proto, o: ExchangeOptions = {}): Promise<ExchangeComparison & { readonly attempts: number }> {
  const from = resolvePlace(rt, fromText);
  const to = resolveTarget(rt, toText);
  const nodes = rt.world.allNetns().filter((ns) => rt.world.iptables.has(ns));
  const random = o.randomChoice;
  const forget = o.flushNeighbours === true || random !== undefined;
  if (forget) flushModelNeighbours(rt);
  const freshConntrack = o.flushConntrack !== false || random !== undefined;
  if (freshConntrack) for (const ns of nodes) rt.world.iptables.get(ns)!.nf.conntrack.flush();
  // What setup left in conntrack goes once every tap listens, just before the exchange.
  // (Neighbours are forgotten before the taps start: flushed once they listen, a Calico
  // node's entry for the sending pod came back at once as a unicast probe, which the model
  // does not send; not understood yet.)
  const flush = (): void => {
    if (!freshConntrack) return;
    for (const ns of nodes) run(['ip', 'netns', 'exec', realNs(plan.prefix, ns.node, ns.netns), 'conntrack', '-F']);
  };
  const timeout = o.timeout ?? 3;
  const m = proto === 'icmp' && o.pingSize !== undefined ? modelPing(rt, from, to.ip, o.pingSize, timeout * 1e9) : runExchange(rt, from, to, proto, { timeout: timeout * 1e9 });
  const mFrames: LabelledFrame[] = m.steps.flatMap((s) => (s.type === 'frame' ? [{ label: s.iface, direction: s.direction, bytes: s.bytes }] : []));
  const fixed = fixedPorts(rt, plan.prefix, [to.port]);
  const stand = (label: string): boolean => label.startsWith('switch/');
  const bg = o.background?.length ? new RegExp(`(^|[ =\\[(])(${o.background.map((a) => a.replace(/\./g, '\\.')).join('|')})(?![\\d.])`) : null;
  // Masqueraded, the background shows as node addresses: DNS (port 53, or quoted in an ICMP
  // error) is background too.
  const ipBg = (t: string): boolean => bg!.test(t) || /(UDP|TCP) \S+ > 53 |(UDP|TCP) 53 > /.test(t);
  const dotted = /\d+\.\d+\.\d+\.\d+/g;
  const attempts = random?.attempts ?? 1;
  let out: ExchangeComparison | null = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (forget) flushKernelNeighbours(rt, plan);
    const k = await kernelExchange(from, to, proto, { prefix: plan.prefix, devices: plan.devices, timeout, beforeSend: flush, ...(to.name !== undefined ? { resolvConf: resolvConfOf(rt, from) } : {}), ...(o.pingSize !== undefined ? { pingSize: o.pingSize } : {}) });
    const mctx = frameContext(fixed);
    const kctx = frameContext(fixed);
    // Background frames go before ports are named, so the exchange's names are alike on both sides.
    const mText = mFrames.map((f) => describeFrame(f.bytes, frameContext(fixed)));
    const kText = k.frames.map((f) => describeFrame(f.bytes, frameContext(fixed)));
    // ARP is background when it names an address the background used on either side in this
    // window (either side's background may have resolved it at a time of its own); the rest,
    // the exchange's own resolutions, is compared.
    const bgAddrs = new Set(o.background ?? []);
    for (const t of [...mText, ...kText]) if (bg && !/ ARP /.test(t) && ipBg(t)) for (const a of t.match(dotted) ?? []) bgAddrs.add(a);
    const isBg = (t: string): boolean => (/ ARP /.test(t) ? (t.match(dotted) ?? []).some((a) => bgAddrs.has(a)) : ipBg(t));
    const quiet = (fs: readonly LabelledFrame[], text: readonly string[]): LabelledFrame[] => (bg ? fs.filter((_, i) => !isBg(text[i]!)) : [...fs]);
    const mBy = framesByInterface(quiet(mFrames, mText), mctx, stand);
    const kBy = framesByInterface(quiet(k.frames, kText), kctx, stand);
    const items: Compared[] = [];
    for (const label of new Set([...mBy.keys(), ...kBy.keys()])) {
      items.push({ item: `${label} frames`, model: lines(mBy.get(label)), kernel: lines(kBy.get(label)) });
    }
    // ip neigh of every namespace after the exchange: what it taught each side. Entries for
    // an address the background used go, and so do the background pods' own tables.
    const bgPodNs = new Set([...rt.world.pods.values()].filter((p) => o.background?.includes(p.pod.status?.podIP ?? '')).map((p) => p.netns));
    const neighQuiet = (t: string): string => lines(t.split('\n').filter((l) => !bgAddrs.has(l.split(' ')[0] ?? '')));
    for (const ns of rt.world.allNetns()) {
      if (bgPodNs.has(ns)) continue;
      items.push({ item: `${ns.node}/${ns.netns} ip neigh after`, model: neighQuiet(modelState(rt.world, ns, 'ip neigh')), kernel: neighQuiet(kernelState(plan.prefix, plan.switchNs, ns, 'ip neigh')) });
    }
    // conntrack -L per node, ports named as in that side's frames.
    for (const ns of nodes) {
      const real = realNs(plan.prefix, ns.node, ns.netns);
      const kt = run(['ip', 'netns', 'exec', real, 'conntrack', '-L']).stdout;
      const mt = rt.world.iptables.get(ns)!.nf.conntrackList();
      items.push({
        item: `${ns.node}/${ns.netns} conntrack -L`,
        model: lines(normaliseConntrack(mt, (p) => mctx.ports.peek(p)).split('\n').filter((x) => !bg || !(bg.test(x) || /dport=53 /.test(x)))),
        kernel: lines(normaliseConntrack(kt, (p) => kctx.ports.peek(p)).split('\n').filter((x) => !bg || !(bg.test(x) || /dport=53 /.test(x)))),
      });
    }
    out = {
      items,
      model: { delivered: m.delivered, reason: m.reason, response: m.response },
      kernel: { delivered: k.delivered, reason: k.reason, response: k.response },
    };
    if (!random || choiceSignature(m.response, items, 'model') === choiceSignature(k.response, items, 'kernel')) return { ...out, attempts: attempt };
  }
  return { ...out!, attempts };
}

/** runExchange's ICMP case with a chosen size (ping -s): one echo request, its reply or error. */
function modelPing(rt: Runtime, from: Place, dst: Ipv4Addr, dataLength: number, timeoutNs: number): { delivered: boolean; reason: string | null; response: string | null; steps: Step[] } {
  const steps: Step[] = [];
  const sink: CaptureSink = {
    frame: (iface, time, bytes, direction) => {
      const [node = '', netns = '', ...dev] = iface.split('/');
      steps.push({ type: 'frame', time, iface, node, netns, dev: dev.join('/'), direction, bytes: bytes.slice() });
    },
  };
  for (const ns of rt.world.allNetns()) captureNetns(ns, sink);
  let delivered = false;
  let reason: string | null = null;
  const p = from.sockets.ping({ dataLength });
  p.onReply = () => void (delivered = true);
  p.onError = (e) => void (reason ??= `ICMP type ${e.type} code ${e.code} from ${formatIpv4(e.from)}`);
  p.send(dst);
  rt.world.run(timeoutNs);
  return { delivered, reason: delivered ? null : (reason ?? 'timed out'), response: null, steps };
}

function lines(l: readonly string[] | undefined): string {
  const t = (l ?? []).filter((x) => x !== '').join('\n');
  return t ? `${t}\n` : '';
}
