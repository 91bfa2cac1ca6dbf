// `kubewire kernel up|down|trace`: the scenario built in real network namespaces (root).
import type { Command } from 'commander';
import { EndpointError, resolvePlace } from '../scenario/endpoints.js';
import { resolveTarget, type Proto } from '../scenario/trace/exchange.js';
import { resolvConfOf } from '../scenario/resolv.js';
import type { Runtime } from '../scenario/runtime.js';
import { isRoot, netnsList } from '../kernel/host.js';
import { writeKernelPcap } from '../kernel/pcap.js';
import { DEFAULT_PREFIX, planKernel } from '../kernel/plan.js';
import { kernelExchange } from '../kernel/trace.js';
import { KernelError, kernelDown, kernelUp, readState, statePath, type UpReport } from '../kernel/up.js';
import { EXIT_NOT_DELIVERED, EXIT_OK, InputError } from './errors.js';
import { runtimeFor } from './scenario-arg.js';

type Out = (s: string) => void;
const collect = (v: string, prev: string[]): string[] => [...prev, v];

function checkPrefix(p: string): string {
  // Namespace names become file names under /run/netns and /run/kubewire.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/.test(p)) throw new InputError(`kubewire kernel: --prefix "${p}": use letters, digits, '.', '_' or '-' (at most 32)`);
  return p;
}

function needRoot(what: string): void {
  if (!isRoot()) throw new InputError(`kubewire kernel ${what}: needs root (network namespaces, veths, iptables)`);
}

export function formatUp(r: UpReport): string {
  const lines: string[] = [];
  lines.push(`made ${r.plan.namespaces.length} network namespaces (prefix ${r.plan.prefix}):`);
  const back = new Map([...r.plan.nsOf].map(([k, v]) => [v, k]));
  for (const ns of r.plan.namespaces) lines.push(`  ${ns}${back.has(ns) ? `  (${back.get(ns)})` : '  (underlay segments)'}`);
  lines.push(`replayed ${r.commandsRun} commands`);
  if (r.listeners.length) {
    lines.push(`servers (kubewire's own apps, one process per namespace):`);
    for (const l of r.listeners) lines.push(`  ${l.ns} ${l.proto.toLowerCase()}/${l.port}`);
  }
  if (r.problems.length) {
    lines.push(`not replayed (${r.problems.length}):`);
    for (const p of r.problems) lines.push(`  ${p.agent}: ${p.command}: ${p.reason}`);
    if (r.problems.some((p) => p.reason.startsWith('IPVS'))) lines.push(`  hint: --set kubeProxy.mode=iptables builds the same cluster without IPVS`);
  }
  lines.push(`remove it with: kubewire kernel down --prefix ${r.plan.prefix}`);
  return `${lines.join('\n')}\n`;
}

function up(scenario: string | undefined, o: { prefix: string; set: string[] }, out: Out): number {
  needRoot('up');
  const rt = runtimeFor(scenario, o.set);
  try {
    out(formatUp(kernelUp(rt, { prefix: checkPrefix(o.prefix), sets: o.set, ...(scenario !== undefined ? { scenarioName: scenario, scenarioPath: scenario } : {}) })));
  } catch (e) {
    if (e instanceof KernelError) throw new InputError(`kubewire kernel up: ${e.message}`);
    throw e;
  }
  return EXIT_OK;
}

function down(o: { prefix: string }, out: Out): number {
  needRoot('down');
  const r = kernelDown(checkPrefix(o.prefix));
  if (!r.found) {
    out(`nothing to remove: no ${statePath(o.prefix)}\n`);
    return EXIT_OK;
  }
  out(`removed ${r.namespaces.length} network namespaces and ${r.pids.length} processes (prefix ${o.prefix})\n`);
  return EXIT_OK;
}

async function trace(scenario: string | undefined, o: { prefix: string; set: string[]; from: string; to: string; proto: string; pcap?: string }, out: Out): Promise<number> {
  needRoot('trace');
  const prefix = checkPrefix(o.prefix);
  if (!['tcp', 'udp', 'icmp'].includes(o.proto)) throw new InputError(`kubewire kernel trace: --proto must be tcp, udp or icmp, not "${o.proto}"`);
  const rt: Runtime = runtimeFor(scenario, o.set);
  let from, to;
  try {
    from = resolvePlace(rt, o.from);
    to = resolveTarget(rt, o.to);
  } catch (e) {
    if (e instanceof EndpointError) throw new InputError(`kubewire kernel trace: ${e.message}`);
    throw e;
  }
  const proto = o.proto as Proto;
  if (proto !== 'icmp' && to.port === undefined) throw new InputError(`kubewire kernel trace: --to ${to.label}: ${proto} needs a port`);
  // Use a cluster already up under this prefix, or build one for this trace only.
  const state = readState(prefix);
  const temporary = state === null;
  if (state && state.scenario !== (scenario ?? rt.state.cluster.metadata.name)) {
    throw new InputError(`kubewire kernel trace: prefix ${prefix} holds "${state.scenario}", not "${scenario ?? rt.state.cluster.metadata.name}"`);
  }
  const plan = temporary ? kernelUp(rt, { prefix, sets: o.set, ...(scenario !== undefined ? { scenarioName: scenario, scenarioPath: scenario } : {}) }).plan : planKernel(rt.world, { prefix });
  try {
    const missingNs = plan.namespaces.filter((n) => !netnsList().includes(n));
    if (missingNs.length) throw new InputError(`kubewire kernel trace: namespaces of prefix ${prefix} are gone: ${missingNs.join(', ')}`);
    const r = await kernelExchange(from, to, proto, { prefix, devices: plan.devices, ...(to.name !== undefined ? { resolvConf: resolvConfOf(rt, from) } : {}) });
    const per = new Map<string, number>();
    for (const f of r.frames) per.set(f.label, (per.get(f.label) ?? 0) + 1);
    out(`${from.label} -> ${to.label} ${proto}: ${r.delivered ? 'delivered' : `not delivered (${r.reason})`}\n`);
    if (r.response) out(`answer: ${r.response.trimEnd()}\n`);
    out(`${r.frames.length} frames on ${per.size} interfaces:\n`);
    for (const [label, n] of per) out(`  ${label}: ${n}\n`);
    if (o.pcap) {
      writeKernelPcap(o.pcap, r.frames, `kubewire kernel trace ${from.label} -> ${to.label} ${proto} (prefix ${prefix})`);
      out(`wrote ${o.pcap}\n`);
    }
    return r.delivered ? EXIT_OK : EXIT_NOT_DELIVERED;
  } finally {
    if (temporary) kernelDown(prefix);
  }
}

/** Registers `kubewire kernel` and its subcommands. */
export function addKernelCommand(program: Command, out: Out): void {
  const k = program.command('kernel').description('(root) the same cluster in real network namespaces on this machine');
  k.command('up')
    .description('build the scenario in real network namespaces')
    .argument('[scenario]', 'scenario file or folder (default: the built-in seed cluster)')
    .option('--prefix <p>', 'namespace name prefix', DEFAULT_PREFIX)
    .option('--set <path=value>', 'override a scenario field (repeatable)', collect, [])
    .action((scenario: string | undefined, o: { prefix: string; set: string[] }) => {
      process.exitCode = up(scenario, o, out);
    });
  k.command('down')
    .description('remove everything `kernel up` made under the prefix, and only that')
    .option('--prefix <p>', 'namespace name prefix', DEFAULT_PREFIX)
    .action((o: { prefix: string }) => {
      process.exitCode = down(o, out);
    });
  k.command('trace')
    .description('send one real exchange and capture every interface into one pcapng')
    .argument('[scenario]', 'scenario file or folder (default: the built-in seed cluster)')
    .requiredOption('--from <endpoint>', 'pod/NS/NAME, node/NAME, host/NAME or an IP')
    .requiredOption('--to <endpoint>', 'IP, IP:PORT, svc/NS/NAME:PORT, pod/NS/NAME:PORT')
    .option('--proto <proto>', 'tcp | udp | icmp', 'tcp')
    .option('--pcap <file>', 'write every frame as pcapng')
    .option('--prefix <p>', 'namespace name prefix (a cluster already up, or a temporary one)', DEFAULT_PREFIX)
    .option('--set <path=value>', 'override a scenario field (repeatable)', collect, [])
    .action(async (scenario: string | undefined, o: { prefix: string; set: string[]; from: string; to: string; proto: string; pcap?: string }) => {
      process.exitCode = await trace(scenario, o, out);
    });
}
