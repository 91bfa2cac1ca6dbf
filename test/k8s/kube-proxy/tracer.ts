// upstream proxier_test.go's iptablesTracer: a deliberately simple walk of the generated
// rules (nat PREROUTING, then the filter service chains) answering where a packet would go,
// whether it is masqueraded, and which rules matched. Rules that test history (recent
// --rcheck, mark, ctstate) never match; a probabilistic jump lets the walk continue, so every
// possible endpoint is collected.
import type { MemoryIptables } from '../../../src/k8s/kube-proxy/backend.js';
import { contains, parseCidrSloppy, parseIpv4Sloppy } from '../../../src/k8s/kube-proxy/ip.js';
import { ruleWords } from '../../../src/k8s/kube-proxy/restore-dump.js';

interface Value {
  negated: boolean;
  value: string;
}
interface Parsed {
  raw: string;
  s?: Value;
  d?: Value;
  p?: Value;
  srcType?: Value;
  dstType?: Value;
  dport?: Value;
  jump?: string;
  probability?: string;
  toDestination?: string;
  history: boolean;
}

const VALUE_PARAMS: Record<string, keyof Parsed> = {
  '-s': 's',
  '-d': 'd',
  '-p': 'p',
  '--src-type': 'srcType',
  '--dst-type': 'dstType',
  '--dport': 'dport',
};

function parse(raw: string): Parsed {
  const w = ruleWords(raw);
  const r: Parsed = { raw, history: false };
  let neg = false;
  for (let i = 2; i < w.length; ) {
    const x = w[i]!;
    if (x === '-m' && i < w.length - 1) {
      i += 2;
      continue;
    }
    if (x === '!') {
      neg = true;
      i++;
      continue;
    }
    const key = VALUE_PARAMS[x];
    if (key !== undefined) (r as unknown as Record<string, Value>)[key] = { negated: neg, value: w[i + 1]! };
    else if (x === '-j') r.jump = w[i + 1]!;
    else if (x === '--probability') r.probability = w[i + 1]!;
    else if (x === '--to-destination') r.toDestination = w[i + 1]!;
    else if (x === '--rcheck' || x === '--mark' || x === '--ctstate') r.history = true;
    const takesValue = key !== undefined || ['-j', '--probability', '--to-destination', '--mark', '--ctstate', '--comment', '--name', '--seconds', '--mode', '--nfacct-name', '--xor-mark', '--or-mark'].includes(x);
    i += takesValue ? 2 : 1;
    neg = false;
  }
  return r;
}

function addressMatches(v: Value, ip: string): boolean {
  const a = parseIpv4Sloppy(ip);
  if (a === undefined) return false;
  let m: boolean;
  if (v.value.includes('/')) m = contains(parseCidrSloppy(v.value)!, a);
  else m = parseIpv4Sloppy(v.value) === a;
  return v.negated ? !m : m;
}
const valueMatches = (v: Value, s: string): boolean => (v.negated ? v.value !== s : v.value === s);

export interface FlowResult {
  matches: string[];
  output: string;
  masq: boolean;
}

export function tracePacket(ipt: MemoryIptables, src: string, protocol: string, dst: string, dport: string, nodeIPs: readonly string[]): FlowResult {
  const local = new Set(['127.0.0.1', '::1', ...nodeIPs]);
  const matches: string[] = [];
  const outputs: string[] = [];
  let masq = false;
  const ruleMatches = (r: Parsed, d: string): boolean => {
    if (r.s && !addressMatches(r.s, src)) return false;
    if (r.srcType && !valueMatches(r.srcType, local.has(src) ? 'LOCAL' : 'not-matched')) return false;
    if (r.p && !valueMatches(r.p, protocol)) return false;
    if (r.d && !addressMatches(r.d, d)) return false;
    if (r.dstType && !valueMatches(r.dstType, local.has(d) ? 'LOCAL' : 'not-matched')) return false;
    if (r.dport && !valueMatches(r.dport, dport)) return false;
    return !r.history;
  };
  const runChain = (table: string, chain: string, d: string): boolean => {
    const c = ipt.tables.find((t) => t.name === table)?.chains.find((x) => x.name === chain);
    if (c === undefined) return false;
    for (const raw of c.rules) {
      const r = parse(raw.raw);
      if (r.jump === undefined || !ruleMatches(r, d)) continue;
      matches.push(r.raw);
      switch (r.jump) {
        case 'KUBE-MARK-MASQ':
          masq = true;
          continue;
        case 'ACCEPT':
        case 'REJECT':
        case 'DROP':
          outputs.push(r.jump);
          return true;
        case 'DNAT':
          outputs.push(r.toDestination!);
          return true;
        default: {
          const terminated = runChain(table, r.jump, d);
          if (terminated && r.probability === undefined) return true;
        }
      }
    }
    return false;
  };
  runChain('nat', 'PREROUTING', dst);
  const d = outputs.length !== 0 ? outputs[0]!.split(':')[0]! : dst;
  for (const ch of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-NODEPORTS', 'KUBE-PROXY-FIREWALL']) runChain('filter', ch, d);
  return { matches, output: outputs.join(', '), masq };
}

export interface FlowCase {
  name: string;
  sourceIP: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  destIP: string;
  destPort: number;
  output: string;
  masq?: boolean;
}
