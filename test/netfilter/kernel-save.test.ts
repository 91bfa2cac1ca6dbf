// Real-kernel differential test: the same restore payloads loaded by the real
// iptables-restore into a fresh netns, real iptables-save compared with kubewire's printer.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { missing } from '../helpers/tools.js';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { FakeNetns } from './helpers.js';
import { RestoreError } from '../../src/netfilter/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
const why = missing({ root: true, tools: ['iptables-restore', 'iptables-save', 'ip', 'ipset'] });
const prefix = `kwt-nf-${process.pid}-`;
let seq = 0;
const made: string[] = [];

function sh(cmd: string, args: string[], input?: string): { out: string; err: string; code: number } {
  try {
    const out = execFileSync(cmd, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    return { out, err: '', code: 0 };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; status?: number };
    return { out: x.stdout ?? '', err: x.stderr ?? '', code: x.status ?? 1 };
  }
}

function freshNetns(): string {
  const name = `${prefix}${seq++}`;
  sh('ip', ['netns', 'add', name]);
  made.push(name);
  return name;
}

/** Save output without the comment lines and with counters zeroed. */
function normalise(s: string): string {
  return s
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}

function model(text: string, sets: [string, string][] = [], opts: { noflush?: boolean } = {}, before?: string): Netfilter {
  const nf = new Netfilter(new FakeNetns());
  for (const [n, t] of sets) nf.ipsets.create(n, t);
  if (before !== undefined) nf.restore(before);
  nf.restore(text, opts);
  return nf;
}

const payload = (name: string): string => readFileSync(join(here, 'payloads', name), 'utf8');

const ALL_RULES = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -p udp --dport 53 -j CT --notrack
-A OUTPUT -p udp -m udp --sport 53 -j NOTRACK
-A PREROUTING -s 10.1.2.3 -j TRACE
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-PROXY-CANARY - [0:0]
-A PREROUTING -i eth+ -j MARK --set-mark 0x1
-A PREROUTING -j MARK --and-mark 0x1
-A PREROUTING -j MARK --xor-mark 0x00004000
-A PREROUTING -j MARK --or-mark 0x00004000
-A PREROUTING -j MARK --set-xmark 0x10/0xff
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [3:180]
:OUTPUT ACCEPT [0:0]
:ZZZ - [0:0]
:AAA - [0:0]
-A INPUT -j ZZZ
-A INPUT -m conntrack --ctstate NEW,RELATED,ESTABLISHED,INVALID,SNAT,DNAT,UNTRACKED -j ACCEPT
-A INPUT -m conntrack --ctorigdst 10.0.0.1 --ctorigdstport 80 --ctstatus ASSURED,CONFIRMED -j ACCEPT
-A INPUT -m conntrack --ctstatus SEEN_REPLY --ctstate NEW -j ACCEPT
-A INPUT -m state --state NEW,ESTABLISHED -j ACCEPT
-A INPUT -m addrtype ! --src-type LOCAL --dst-type LOCAL,BROADCAST --limit-iface-in -j ACCEPT
-A INPUT -m set --match-set KW-TEST dst,dst -j ACCEPT
-A INPUT -m set ! --match-set KW-NET src -j ACCEPT
-A INPUT -p tcp --syn -j ACCEPT
-A INPUT -p tcp ! --tcp-flags ALL FIN,URG,PSH -j ACCEPT
-A INPUT -p tcp --dport 1000:2000 ! --sport 5 -j ACCEPT
-A INPUT -p tcp --dport :2000 -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT
-A INPUT -p udp -m multiport ! --sports 53 -j ACCEPT
-A INPUT -m mark ! --mark 0x00004000/0x00004000 -j ACCEPT
-A INPUT -m mark --mark 0x1 -j ACCEPT
-A INPUT -p icmp --icmp-type echo-request -j ACCEPT
-A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT
-A INPUT -p icmp --icmp-type port-unreachable -j ACCEPT
-A INPUT -m statistic --mode random --probability 0.3333333333 -j ACCEPT
-A INPUT -m statistic --mode random --probability 0.2000000000 -j ACCEPT
-A INPUT -m statistic --mode random ! --probability 0.1 -j ACCEPT
-A INPUT -m statistic --mode nth --every 3 --packet 1 -j ACCEPT
-A INPUT -m recent --name KUBE-SEP-X --rcheck --seconds 10800 --reap -j ACCEPT
-A INPUT -m recent --update --seconds 60 --hitcount 3 --rttl --name X --mask 255.255.0.0 --rdest -j ACCEPT
-A INPUT -m physdev --physdev-in veth+ --physdev-is-bridged -j ACCEPT
-A FORWARD -m physdev ! --physdev-out eth0 --physdev-is-in ! --physdev-is-out -j ACCEPT
-A INPUT -s 10.0.0.1 -d 10.0.0.0/255.255.0.0 -j ACCEPT
-A INPUT -s 1.2.3.4/24 ! -d 10.0.0.0/255.0.255.0 -j ACCEPT
-A INPUT ! -i lo ! -p udp -j ACCEPT
-A INPUT -i lo -p 6 -j ACCEPT
-A INPUT -p udp -m udp --dport 53 -j REJECT
-A INPUT -p tcp -j REJECT --reject-with tcp-reset
-A INPUT -j REJECT --reject-with icmp-host-unreachable
-A INPUT -j REJECT --reject-with admin-prohib
-A INPUT -j LOG --log-prefix "hello world: " --log-level 6
-A INPUT -j LOG --log-prefix x --log-level debug
-A INPUT -p all -j RETURN
-A INPUT -g AAA
-A INPUT -m comment --comment a -m comment --comment "b c" -j ACCEPT
-A INPUT -m comment --comment "q\\"uote" -j ACCEPT
-A INPUT -m tcp -p tcp -m comment --comment "x" -d 1.2.3.4 --dport 80 ! -s 10.0.0.0/8 -j DROP
-A INPUT -f -j DROP
-A FORWARD -o eth0 -j DROP
-A OUTPUT ! -o eth0 -s 0.0.0.0/0 -j DROP
-A AAA -j RETURN
-A ZZZ -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -d 1.1.1.1 --dport 80 -j DNAT --to-destination 10.0.0.1:8080
-A PREROUTING -p tcp -d 1.1.1.2 -j DNAT --to-destination 10.0.0.1-10.0.0.3:80-90
-A PREROUTING -p tcp -d 1.1.1.2 -j DNAT --to-destination 10.0.0.1:80 --random --persistent
-A PREROUTING -p tcp -j REDIRECT --to-ports 8080
-A POSTROUTING -j MASQUERADE --random-fully
-A POSTROUTING -p tcp -j MASQUERADE --to-ports 1000-2000 --random
-A POSTROUTING -p udp -j SNAT --to-source 192.168.1.1:1000-2000 --random-fully
COMMIT
`;

const SETS: [string, string][] = [
  ['KW-TEST', 'hash:ip,port'],
  ['KW-NET', 'hash:net'],
];

describe.skipIf(why !== null)('iptables-save of the real kernel equals the model printer', () => {
  beforeAll(() => {
    // nothing shared: each case makes its own netns
  });
  afterAll(() => {
    for (const n of made) sh('ip', ['netns', 'del', n]);
  });

  function real(text: string, sets: [string, string][] = [], opts: { noflush?: boolean } = {}, before?: string): string {
    return sh('ip', ['netns', 'exec', loadReal(text, sets, opts, before), 'iptables-save']).out;
  }

  function loadReal(text: string, sets: [string, string][] = [], opts: { noflush?: boolean } = {}, before?: string): string {
    const ns = freshNetns();
    for (const [n, t] of sets) sh('ip', ['netns', 'exec', ns, 'ipset', 'create', n, t]);
    if (before !== undefined) {
      const r0 = sh('ip', ['netns', 'exec', ns, 'iptables-restore'], before);
      expect(r0.err).toBe('');
    }
    const r = sh('ip', ['netns', 'exec', ns, 'iptables-restore', ...(opts.noflush ? ['--noflush'] : [])], text);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    return ns;
  }

  it('iptables -t T -L -n -v lists the same, for every table', () => {
    const cases: [string, [string, string][], string | undefined][] = [
      [ALL_RULES, SETS, undefined],
      [payload('kube-proxy.txt'), [], '*nat\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n'],
      [payload('calico.txt'), [], undefined],
    ];
    for (const [text, sets, before] of cases) {
      const ns = loadReal(text, sets, before ? { noflush: true } : {}, before);
      const m = model(text, sets, before ? { noflush: true } : {}, before);
      for (const t of ['raw', 'mangle', 'filter', 'nat'] as const) {
        if (!m.tables.has(t)) continue;
        expect(m.list(t), t).toBe(sh('ip', ['netns', 'exec', ns, 'iptables', '-t', t, '-L', '-n', '-v']).out);
      }
    }
  });

  it('every match and target the model knows', () => {
    expect(normalise(model(ALL_RULES, SETS).save())).toBe(normalise(real(ALL_RULES, SETS)));
  });

  it('a kube-proxy iptables-mode payload (ClusterIP, NodePort, LB with source ranges and affinity, no endpoints)', () => {
    const t = payload('kube-proxy.txt');
    const before = '*nat\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n';
    const m = normalise(model(t, [], { noflush: true }, before).save());
    expect(m).toContain('-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(m).toBe(normalise(real(t, [], { noflush: true }, before)));
  });

  it('flannel and calico payloads', () => {
    for (const f of ['flannel.txt', 'calico.txt']) {
      const t = payload(f);
      expect(normalise(model(t).save()), f).toBe(normalise(real(t)));
    }
  });

  it('--noflush keeps unnamed chains and flushes the named ones', () => {
    const first = '*filter\n:FOO - [0:0]\n:BAR - [0:0]\n-A INPUT -j ACCEPT\n-A FOO -j ACCEPT\n-A BAR -j DROP\nCOMMIT\n';
    const second = '*filter\n:INPUT DROP [0:0]\n:FOO - [0:0]\n-A FOO -j RETURN\n-I INPUT 1 -j FOO\n-D INPUT -j ACCEPT\nCOMMIT\n';
    expect(normalise(model(second, [], { noflush: true }, first).save())).toBe(normalise(real(second, [], { noflush: true }, first)));
  });

  it('rejects the same bad lines with the same stderr', () => {
    const bad = [
      '*filter\n-A INPUT -j NOPE\nCOMMIT\n',
      '*filter\n-A NOPE -j ACCEPT\nCOMMIT\n',
      '*filter\n:FOO - [0:0]\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n',
      '*filter\n-A INPUT -s 1.2.3.400 -j ACCEPT\nCOMMIT\n',
      '*filter\n-A INPUT --bogus -j ACCEPT\nCOMMIT\n',
      '*filter\n-A INPUT -j ACCEPT\n',
      '*filter\n:INPUT BLAH [0:0]\nCOMMIT\n',
      '*filter\n-X NOPE\nCOMMIT\n',
      '*nat\n-A PREROUTING -j DNAT --to-destination 1.2.3\nCOMMIT\n',
      '*filter\n-A INPUT -j DNAT --to-destination 1.2.3.4\nCOMMIT\n',
      '*filter\n-I INPUT 5 -j ACCEPT\nCOMMIT\n',
      '*filter\n-A INPUT -m statistic --mode nth --every 3 -j ACCEPT\nCOMMIT\n',
      '*filter\n:FOO - [0:0]\n-A INPUT -j FOO\n-X FOO\nCOMMIT\n',
      '*filter\n-A INPUT -m tcp --dport 80 -j ACCEPT\nCOMMIT\n',
      '*filter\n-A INPUT -i eth0 -i eth1 -j ACCEPT\nCOMMIT\n',
      '*filter\n-N FOO\n-N FOO\nCOMMIT\n',
    ];
    for (const text of bad) {
      const ns = freshNetns();
      const r = sh('ip', ['netns', 'exec', ns, 'iptables-restore'], text);
      const nf = new Netfilter(new FakeNetns());
      let err: RestoreError | undefined;
      try {
        nf.restore(text);
      } catch (e) {
        err = e as RestoreError;
      }
      expect(err, text).toBeInstanceOf(RestoreError);
      expect(err!.stderr, text).toBe(r.err);
    }
  });
});
