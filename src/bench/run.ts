/**
 * The benchmark driver: for each mode and size, a fresh BenchNode programmed by kube-proxy with
 * N synthetic Services, then
 *  1. programming: the full sync (lines, `-A` rules, restore bytes; generate vs apply time), a
 *     partial sync adding one Service, and the memory the node holds;
 *  2. first packets: a SYN from the client pod to Services at evenly spaced positions of
 *     KUBE-SERVICES (every position up to `maxPositions`), counting rules evaluated (every table
 *     walk in the namespace, Netfilter.totalEvaluated) and IPVS hash lookups per packet, timing
 *     the receive path; each SYN must leave eth0 DNATed to one of the Service's endpoints;
 *  3. established packets: the endpoint's SYN-ACK (un-NATed back to the client) and the
 *     handshake's ACK, then further ACKs on the same tuples, counted and timed the same way;
 *  4. kernel estimates from those counts (estimate.ts).
 * Counts are exact and deterministic; times come from the injected clock and are noisy.
 */
import { estimateEstablished, estimateFirst, type KernelEstimate } from './estimate.js';
import { BenchNode, type Mode, type SyncFigures } from './node.js';
import { clusterIP, endpointIP, MAX_ENDPOINTS, MAX_PORTS, MAX_SERVICES, servicePort, syntheticCluster, syntheticService } from './synth.js';
import type { PacketBuffer } from '../wire/packet-buffer.js';
import { clearRestoreCache } from '../netfilter/restore.js';
import { formatIpv4 } from '../wire/ipv4-address.js';

export type { Mode };

export interface BenchOptions {
  services: readonly number[];
  endpointsPerService: number;
  portsPerService: number;
  modes: readonly Mode[];
  /** Positions of KUBE-SERVICES sampled for first packets (all when N is not larger). */
  maxPositions?: number;
  /** Packets timed per figure at least (small sizes repeat their positions). */
  minTimedPackets?: number;
  /** Nodes holding the same cluster for `memoryBytesAllNodes` (default 1: not measured). */
  nodes?: number;
  /**
   * New flows sent before measuring, so the JIT has compiled the path (default 5000: with the
   * CPU clock, the compiler threads' work on the first thousand packets is counted too).
   */
  warmupPackets?: number;
}

export interface BenchEnv {
  /** Nanoseconds: the process's CPU time (user + sys) or a monotonic wall clock. */
  now(): number;
  /** What `now` measures, copied into every result. */
  clock?: 'cpu' | 'wall';
  /** Bytes held by the process (heapUsed + external), or undefined when not measured. */
  memory?(): number;
  /** A full garbage collection (global.gc under --expose-gc). */
  gc?(): void;
  progress?(label: string, done: number, total: number): void;
}

export interface CountStats {
  mean: number;
  max: number;
  min: number;
}

export interface PacketFigures {
  rulesEvaluated: CountStats;
  ipvsLookups: CountStats;
  /** kubewire's own time per packet (receive path through every hook), ns */
  nsPerPacket: number;
  packetsTimed: number;
  kernelEstimate: KernelEstimate;
}

export interface BenchResult {
  mode: Mode;
  services: number;
  endpointsPerService: number;
  portsPerService: number;
  sync: {
    /** syncProxyRules of the first node (generate + apply), rule cache cold */
    fullMs: number;
    /** the informer events before that sync (Service/EndpointSlice handlers) */
    informerMs: number;
    generateMs: number;
    applyMs: number;
    rules: number;
    lines: number;
    restoreBytes: number;
    partialMs: number;
    partialApplyMs: number;
    partialRules: number;
    partialLines: number;
    partialRestoreBytes: number;
    /** ipvs mode has no partial sync upstream: every sync is full */
    partialIsFull: boolean;
    ipvsVirtualServers: number | null;
  };
  memoryBytes: number | null;
  /** With --nodes N: the memory of N such nodes of one cluster (the API objects held once). */
  memoryBytesAllNodes: {
    nodes: number;
    bytes: number;
    /** Mean full sync (syncProxyRules) of the other nodes, whose payload is identical: shared rule specs. */
    otherNodesFullMs: number;
  } | null;
  memoryMethod: string;
  /** 'cpu': process user+sys time (robust on a shared machine); 'wall': elapsed time */
  clock: 'cpu' | 'wall';
  firstPacket: PacketFigures & {
    positions: number;
    /** (ns at the last position - ns at the first) / (rules difference); iptables only */
    nsPerRule: number | null;
    /** 400 new flows to the Service at the first / last position of KUBE-SERVICES */
    atFirstPosition: { nsPerPacket: number; rulesEvaluated: number } | null;
    atLastPosition: { nsPerPacket: number; rulesEvaluated: number } | null;
  };
  established: PacketFigures;
}

const stats = (xs: readonly number[]): CountStats => {
  let sum = 0;
  let max = -Infinity;
  let min = Infinity;
  for (const x of xs) {
    sum += x;
    if (x > max) max = x;
    if (x < min) min = x;
  }
  return { mean: xs.length ? sum / xs.length : 0, max: xs.length ? max : 0, min: xs.length ? min : 0 };
};

const countLines = (text: string): { lines: number; rules: number } => {
  let lines = 0;
  let rules = 0;
  let at = 0;
  while (at < text.length) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    lines++;
    if (text.startsWith('-A ', at) || text.startsWith('-I ', at)) rules++;
    at = nl + 1;
  }
  return { lines, rules };
};

export class BenchInputError extends Error {
  override readonly name = 'BenchInputError';
}

export function checkOptions(o: BenchOptions): void {
  if (o.services.length === 0) throw new BenchInputError('kubewire bench: --services needs at least one size');
  for (const n of o.services) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_SERVICES) throw new BenchInputError(`kubewire bench: --services: ${n} is not a whole number from 1 to ${MAX_SERVICES}`);
  }
  if (!Number.isInteger(o.endpointsPerService) || o.endpointsPerService < 1 || o.endpointsPerService > MAX_ENDPOINTS) throw new BenchInputError(`kubewire bench: --endpoints must be 1 to ${MAX_ENDPOINTS}`);
  if (o.nodes !== undefined && (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 16)) throw new BenchInputError('kubewire bench: --nodes must be 1 to 16');
  if (!Number.isInteger(o.portsPerService) || o.portsPerService < 1 || o.portsPerService > MAX_PORTS) throw new BenchInputError(`kubewire bench: --ports must be 1 to ${MAX_PORTS}`);
  if (o.modes.length === 0) throw new BenchInputError('kubewire bench: --modes needs iptables, ipvs or both');
}

/** Evenly spaced Service indices, first and last included. */
export function positions(n: number, max: number): number[] {
  if (n <= max) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < max; k++) out.push(Math.round((k * (n - 1)) / (max - 1)));
  return out;
}

export function benchOne(mode: Mode, n: number, o: BenchOptions, env: BenchEnv): BenchResult {
  const E = o.endpointsPerService;
  const P = o.portsPerService;
  const progress = (what: string, f: number): void => env.progress?.(`${mode} ${n}: ${what}`, f, 1);
  env.gc?.();
  env.gc?.();
  // Every size starts cold: no rule line parsed by an earlier size is reused.
  clearRestoreCache();
  env.gc?.();
  const mem0 = env.memory?.();
  progress('full sync', 0);
  const node = new BenchNode(mode, env.now);
  const cluster = syntheticCluster({ services: n, endpointsPerService: E, portsPerService: P });
  const full: SyncFigures = node.sync(cluster.services, cluster.slices);
  const fullCount = countLines(full.result.restoreText);
  progress('partial sync', 0.2);
  const extra = syntheticService(n, E, P);
  const partial = node.sync([extra.service], [extra.slice]);
  const partialCount = countLines(partial.result.restoreText);
  env.gc?.();
  env.gc?.();
  const mem1 = env.memory?.();
  let allNodes: BenchResult['memoryBytesAllNodes'] = null;
  const others: BenchNode[] = [];
  if ((o.nodes ?? 1) > 1 && mem0 !== undefined) {
    let otherNs = 0;
    for (let k = 1; k < o.nodes!; k++) {
      progress(`node ${k + 1} of ${o.nodes}`, 0.2);
      const other = new BenchNode(mode, env.now);
      otherNs += other.sync(cluster.services, cluster.slices).totalNs;
      other.sync([extra.service], [extra.slice]);
      others.push(other);
    }
    env.gc?.();
    env.gc?.();
    allNodes = { nodes: o.nodes!, bytes: env.memory!() - mem0, otherNodesFullMs: otherNs / (o.nodes! - 1) / 1e6 };
    others.length = 0;
  }
  const applyNs = (s: SyncFigures): number => s.apply.iptablesNs + s.apply.ipsetNs + s.apply.ipvsNs;

  // --- first packets ------------------------------------------------------------------------
  const pos = positions(n, o.maxPositions ?? 10_000);
  const minTimed = o.minTimedPackets ?? 2000;
  const rounds = Math.max(1, Math.ceil(minTimed / pos.length));
  const nf = node.nf;
  let sport = 1024;
  const nextPort = (): number => (sport >= 65535 ? (sport = 1024) : ++sport);
  const firstRules: number[] = [];
  const firstLookups: number[] = [];
  const tuples: { sport: number; svc: number; epAddr: number; epPort: number }[] = [];
  // Warm-up (untimed, uncounted): V8 compiles the receive path before anything is measured.
  for (let k = 0; k < (o.warmupPackets ?? 5000); k++) node.receiveFromClient(node.fromClient(nextPort(), clusterIP(pos[k % pos.length]!), servicePort(0), 0x02));
  let firstNs = 0;
  let firstTimed = 0;
  for (let r = 0; r < rounds; r++) {
    const batch: PacketBuffer[] = [];
    const ports: number[] = [];
    for (const i of pos) {
      const sp = nextPort();
      ports.push(sp);
      batch.push(node.fromClient(sp, clusterIP(i), servicePort(0), 0x02));
    }
    const t0 = env.now();
    for (let k = 0; k < batch.length; k++) {
      const p = batch[k]!;
      const rules0 = nf.totalEvaluated;
      const look0 = node.ipvsLookups;
      const frames0 = node.out.frames;
      node.receiveFromClient(p);
      if (r > 0) continue;
      firstRules.push(nf.totalEvaluated - rules0);
      firstLookups.push(node.ipvsLookups - look0);
      const i = pos[k]!;
      const lo = endpointIP(i, 0, E);
      if (node.out.frames !== frames0 + 1 || node.out.dst < lo || node.out.dst >= lo + E) {
        throw new Error(`bench: ${mode} ${n}: the SYN to ${formatIpv4(clusterIP(i))}:80 did not leave eth0 DNATed to an endpoint of ${formatIpv4(clusterIP(i))}`);
      }
      tuples.push({ sport: node.out.sport, svc: i, epAddr: node.out.dst, epPort: node.out.dport });
    }
    firstNs += env.now() - t0;
    firstTimed += batch.length;
    progress('first packets', 0.3 + (0.3 * (r + 1)) / rounds);
  }

  // The per-rule cost: the Service at the first and at the last position, K new flows each.
  let nsPerRule: number | null = null;
  let atFirst: { ns: number; rules: number } | null = null;
  let atLast: { ns: number; rules: number } | null = null;
  if (n > 1) {
    const K = 400;
    const timeAt = (i: number): { ns: number; rules: number } => {
      const batch = Array.from({ length: K }, () => node.fromClient(nextPort(), clusterIP(i), servicePort(0), 0x02));
      const r0 = nf.totalEvaluated;
      const t0 = env.now();
      for (const p of batch) node.receiveFromClient(p);
      return { ns: (env.now() - t0) / K, rules: (nf.totalEvaluated - r0) / K };
    };
    timeAt(0);
    const a = (atFirst = timeAt(0));
    const b = (atLast = timeAt(n - 1));
    if (mode === 'iptables' && b.rules > a.rules) nsPerRule = (b.ns - a.ns) / (b.rules - a.rules);
  }

  // --- established: the endpoint answers, then the client's ACKs on the same tuples ---------
  for (const t of tuples) {
    const before = node.toClient.frames;
    node.receiveFromUnderlay(node.fromEndpoint(t.epAddr as never, t.epPort, node.out.src, t.sport, 0x12));
    if (node.toClient.frames !== before + 1 || node.toClient.src !== clusterIP(t.svc)) {
      throw new Error(`bench: ${mode} ${n}: the SYN-ACK from ${formatIpv4(t.epAddr)} did not reach the client from ${formatIpv4(clusterIP(t.svc))}`);
    }
  }
  // The handshake's ACK (untimed): the entries are ESTABLISHED before anything is measured.
  for (const t of tuples) node.receiveFromClient(node.fromClient(t.sport, clusterIP(t.svc), servicePort(0), 0x10));
  progress('established packets', 0.7);
  const estRules: number[] = [];
  const estLookups: number[] = [];
  let estNs = 0;
  let estTimed = 0;
  for (let r = 0; r < rounds; r++) {
    const batch = tuples.map((t) => node.fromClient(t.sport, clusterIP(t.svc), servicePort(0), 0x10));
    const t0 = env.now();
    for (let k = 0; k < batch.length; k++) {
      const rules0 = nf.totalEvaluated;
      const look0 = node.ipvsLookups;
      const frames0 = node.out.frames;
      node.receiveFromClient(batch[k]!);
      if (r > 0) continue;
      estRules.push(nf.totalEvaluated - rules0);
      estLookups.push(node.ipvsLookups - look0);
      if (node.out.frames !== frames0 + 1 || node.out.dst !== tuples[k]!.epAddr) throw new Error(`bench: ${mode} ${n}: an established packet did not leave for its endpoint`);
    }
    estNs += env.now() - t0;
    estTimed += batch.length;
  }
  progress('done', 1);

  const fr = stats(firstRules);
  const er = stats(estRules);
  const firstEst = estimateFirst(mode, fr.mean, fr.min);
  const maxEst = estimateFirst(mode, fr.max, fr.min);
  const result: BenchResult = {
    mode,
    services: n,
    endpointsPerService: E,
    portsPerService: P,
    sync: {
      fullMs: full.totalNs / 1e6,
      informerMs: full.informerNs / 1e6,
      generateMs: (full.totalNs - applyNs(full)) / 1e6,
      applyMs: applyNs(full) / 1e6,
      rules: fullCount.rules,
      lines: fullCount.lines,
      restoreBytes: full.apply.restoreBytes,
      partialMs: partial.totalNs / 1e6,
      partialApplyMs: applyNs(partial) / 1e6,
      partialRules: partialCount.rules,
      partialLines: partialCount.lines,
      partialRestoreBytes: partial.apply.restoreBytes,
      partialIsFull: mode === 'ipvs' || ('fullSync' in partial.result && partial.result.fullSync),
      ipvsVirtualServers: node.ipvs ? node.ipvs.services().length : null,
    },
    clock: env.clock ?? 'wall',
    memoryBytes: mem0 !== undefined && mem1 !== undefined ? mem1 - mem0 : null,
    memoryBytesAllNodes: allNodes,
    memoryMethod: env.gc
      ? 'process.memoryUsage() heapUsed + external after global.gc(), before building the node and after both syncs: the node, kube-proxy state, netfilter/IPVS tables and the API objects'
      : 'process.memoryUsage() heapUsed + external before and after, WITHOUT a forced GC (run node with --expose-gc for a clean figure)',
    firstPacket: {
      rulesEvaluated: fr,
      ipvsLookups: stats(firstLookups),
      nsPerPacket: firstNs / firstTimed,
      packetsTimed: firstTimed,
      positions: pos.length,
      nsPerRule,
      atFirstPosition: atFirst ? { nsPerPacket: atFirst.ns, rulesEvaluated: atFirst.rules } : null,
      atLastPosition: atLast ? { nsPerPacket: atLast.ns, rulesEvaluated: atLast.rules } : null,
      kernelEstimate: { ...firstEst, basis: `${firstEst.basis}; worst case ${maxEst.legacyNs} / ${maxEst.nftNs} ns` },
    },
    established: {
      rulesEvaluated: er,
      ipvsLookups: stats(estLookups),
      nsPerPacket: estNs / estTimed,
      packetsTimed: estTimed,
      kernelEstimate: estimateEstablished(er.mean, er.min),
    },
  };
  if (mode === 'ipvs' && result.sync.ipvsVirtualServers !== n * P + 1) {
    throw new Error(`bench: ipvs ${n}: ${result.sync.ipvsVirtualServers} virtual servers, expected ${n * P + 1}`);
  }
  return result;
}

/** Every mode at every size, smallest first, each on its own node (dropped before the next). */
export function benchAll(o: BenchOptions, env: BenchEnv): BenchResult[] {
  checkOptions(o);
  const out: BenchResult[] = [];
  const sizes = [...o.services].sort((a, b) => a - b);
  const total = sizes.length * o.modes.length;
  let done = 0;
  for (const n of sizes) {
    for (const mode of o.modes) {
      const inner: BenchEnv = {
        ...env,
        progress: (label, f) => env.progress?.(label, done + f, total),
      };
      out.push(benchOne(mode, n, o, inner));
      done++;
    }
  }
  return out;
}
