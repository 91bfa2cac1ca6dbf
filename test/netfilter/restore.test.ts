import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { RestoreError } from '../../src/netfilter/errors.js';
import { splitArgs, saveString } from '../../src/netfilter/argv.js';
import { ctime } from '../../src/netfilter/save.js';
import { FakeNetns } from './helpers.js';

const BASE = `*filter
:INPUT DROP [0:0]
:KUBE-FORWARD - [0:0]
-A INPUT -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A PREROUTING -j KUBE-SERVICES
COMMIT
`;

function fresh(): Netfilter {
  const nf = new Netfilter(new FakeNetns());
  nf.restore(BASE);
  return nf;
}

/** Each bad input, the line the real tool names, and the first line of its stderr. */
const MALFORMED: [string, number, string][] = [
  ['*filter\n-A INPUT -j NOPE\nCOMMIT\n', 3, "iptables-restore v1.8.9 (nf_tables): Chain 'NOPE' does not exist"],
  ['*filter\n-A NOPE -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore: line 2 failed: No chain/target/match by that name.'],
  ['*filter\n\n# c\n-A INPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n', 4, "iptables-restore v1.8.9 (nf_tables): invalid port/service `99999' specified"],
  ['*filter\n-A INPUT -s 1.2.3.400 -j ACCEPT\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): host/network `1.2.3.400' not found"],
  ['*filter\n-A INPUT --bogus -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): unknown option "--bogus"'],
  ['*filter\n-A INPUT -m nosuchmatch -j ACCEPT\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): Couldn't load match `nosuchmatch':No such file or directory"],
  ['*filter\n-A INPUT -j ACCEPT\n', 3, 'iptables-restore: COMMIT expected at line 3'],
  ['*foo\nCOMMIT\n', 1, "iptables-restore v1.8.9 (nf_tables): iptables-restore: line 1 table name 'foo' invalid"],
  ['*filter\n:INPUT BLAH [0:0]\nCOMMIT\n', 2, 'iptables-restore: line 2 failed: Bad policy name.'],
  ['*filter\n-X INPUT\nCOMMIT\n', 2, 'iptables-restore: line 2 failed: No chain/target/match by that name.'],
  ['*nat\n-A PREROUTING -j DNAT\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): DNAT: option "--to-destination" must be specified'],
  ['*nat\n-A PREROUTING -p tcp -j DNAT --to-destination 1.2.3\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): Bad IP address "1.2.3"'],
  ['*nat\n-A PREROUTING -j DNAT --to-destination 1.2.3.4:80\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): Need TCP, UDP, SCTP or DCCP with port specification'],
  ['*filter\n-A INPUT -j DNAT --to-destination 1.2.3.4\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): '],
  ['*filter\n-D INPUT -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).'],
  ['*filter\n-I INPUT 5 -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore: line 2 failed: Index of insertion too big.'],
  ['*filter\n-A INPUT -m statistic --mode random --probability 2 -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): statistic: bad value for option "--probability", or out of range (0-1).'],
  ['*filter\n-A INPUT -j\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): option "-j" requires an argument'],
  ['*filter\n-A INPUT -p tcp -m set --match-set NOSET src -j ACCEPT\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): Set NOSET doesn't exist."],
  ['*filter\n:FOO - [0:0]\n-A INPUT -j FOO\n-X FOO\nCOMMIT\n', 4, 'iptables-restore v1.8.9 (nf_tables): '],
  ['*filter\n:this-chain-name-is-way-too-long-for-it - [0:0]\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): chain name `this-chain-name-is-way-too-long-for-it' too long (must be under 29 chars)"],
  ['*filter\n*nat\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): Bad argument `*nat'"],
  ['garbage\n', 1, 'iptables-restore: line 1 failed'],
  ['*filter\n-A INPUT -i eth0 -i eth1 -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): multiple -i flags not allowed'],
  ['*filter\n-A INPUT -o eth0 -j DROP\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): Can't use -o with INPUT"],
  ['*filter\n-A INPUT -m tcp --dport 80 -j ACCEPT\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): TCP match requires '-p tcp'"],
  ['*filter\n-N KUBE-FORWARD\nCOMMIT\n', 2, 'iptables-restore: line 2 failed: Chain already exists.'],
  ['*filter\n-A INPUT -m comment --comment ok -j ACCEPT\nCOMMIT\n*nat\n-A PREROUTING -m mark --mark zz -j ACCEPT\nCOMMIT\n', 5, 'iptables-restore v1.8.9 (nf_tables): mark: bad value for option "--mark", or out of range (0-4294967295).'],
  ['*filter\n-A INPUT -p tcp -j REJECT --reject-with bogus\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): unknown reject type "bogus"'],
  ['*filter\n-A INPUT -p udp -j REJECT --reject-with tcp-reset\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): '],
  ['*filter\n-A INPUT -m statistic --mode random -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): --probability must be specified when using random mode'],
  ['*filter\n-A INPUT -m recent --seconds 5 -j ACCEPT\nCOMMIT\n', 2, "iptables-restore v1.8.9 (nf_tables): recent: you must specify one of `--set', `--rcheck' `--update' or `--remove'"],
  ['*filter\n-A INPUT -p tcp -m multiport --dports 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16 -j ACCEPT\nCOMMIT\n', 2, 'iptables-restore v1.8.9 (nf_tables): too many ports specified'],
];

describe('iptables-restore: malformed input', () => {
  it.each(MALFORMED)('%j fails at line %i and changes nothing', (text, line, first) => {
    const nf = fresh();
    const before = nf.save({ header: false, counters: true });
    let err: unknown;
    try {
      nf.restore(text, { noflush: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RestoreError);
    const re = err as RestoreError;
    expect(re.line).toBe(line);
    expect(re.stderr.split('\n')[0]).toBe(first);
    expect(nf.save({ header: false, counters: true })).toBe(before);
  });

  it('is atomic across tables: a later table failing undoes an earlier COMMIT', () => {
    const nf = fresh();
    const before = nf.save({ header: false });
    expect(() => nf.restore('*filter\n-F\nCOMMIT\n*nat\n-A NOPE -j ACCEPT\nCOMMIT\n')).toThrow(RestoreError);
    expect(nf.save({ header: false })).toBe(before);
  });
});

describe('iptables-restore: commands', () => {
  it('without --noflush replaces the table; with it keeps what is not named', () => {
    const nf = fresh();
    nf.restore('*filter\n:FOO - [0:0]\n-A FOO -j ACCEPT\nCOMMIT\n', { noflush: true });
    expect(nf.save({ header: false, table: 'filter' })).toContain(':KUBE-FORWARD - [0:0]');
    expect(nf.save({ header: false, table: 'filter' })).toContain(':INPUT DROP [0:0]');
    nf.restore('*filter\n:FOO - [0:0]\nCOMMIT\n');
    const s = nf.save({ header: false, table: 'filter' });
    expect(s).not.toContain('KUBE-FORWARD');
    expect(s).toBe('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:FOO - [0:0]\nCOMMIT\n');
  });

  it('-I, -D by number and by spec, -R, -F, -Z, -P, -N, -X', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore(
      '*filter\n-N A\n-N B\n-A INPUT -s 1.1.1.1 -j ACCEPT\n-A INPUT -s 2.2.2.2 -j ACCEPT\n-I INPUT -s 3.3.3.3 -j DROP\n-I INPUT 3 -s 4.4.4.4 -j DROP\n' +
        '-D INPUT 1\n-D INPUT -s 1.1.1.1/32 -j ACCEPT\n-R INPUT 1 -j A\n-A B -j RETURN\n-F B\n-X B\n-P FORWARD DROP\nCOMMIT\n',
    );
    expect(nf.save({ header: false })).toBe('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n-A INPUT -j A\n-A INPUT -s 2.2.2.2/32 -j ACCEPT\nCOMMIT\n');
  });

  it('--counters applies [p:b] to chains and rules; iptables-save -c prints them', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*filter\n:INPUT ACCEPT [5:600]\n[7:800] -A INPUT -j ACCEPT\n-A INPUT -c 1 2 -j DROP\nCOMMIT\n', { counters: true });
    expect(nf.save({ header: false, counters: true })).toBe('*filter\n:INPUT ACCEPT [5:600]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n[7:800] -A INPUT -j ACCEPT\n[1:2] -A INPUT -j DROP\nCOMMIT\n');
    nf.restore('*filter\n:INPUT ACCEPT [5:600]\n[7:800] -A INPUT -j ACCEPT\nCOMMIT\n');
    expect(nf.save({ header: false, counters: true })).toContain('[0:0] -A INPUT -j ACCEPT');
  });

  it('header and footer lines carry the simulated date as ctime', () => {
    const ns = new FakeNetns();
    ns.time = 1_796_164_499e9;
    const nf = new Netfilter(ns);
    nf.restore('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
    const lines = nf.save().split('\n');
    expect(lines[0]).toBe('# Generated by iptables-save v1.8.9 (nf_tables) on Tue Dec  1 22:34:59 2026');
    expect(lines.at(-2)).toBe('# Completed on Tue Dec  1 22:34:59 2026');
    expect(ctime(0)).toBe('Thu Jan  1 00:00:00 1970');
    const withEpoch = new Netfilter(new FakeNetns(), { epochSeconds: 1_796_164_499 - 60 });
    withEpoch.restore('*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n');
    expect(withEpoch.save().split('\n')[0]).toBe('# Generated by iptables-save v1.8.9 (nf_tables) on Tue Dec  1 22:33:59 2026');
    expect(ctime(951782400)).toBe('Tue Feb 29 00:00:00 2000');
  });

  it('kube-proxy probabilities print as lround(p*2^31)/2^31 with 11 digits', () => {
    const nf = new Netfilter(new FakeNetns());
    const ps = ['0.5000000000', '0.3333333333', '0.2500000000', '0.2000000000', '0.1666666667', '0.1428571429', '0.1250000000', '0.1111111111', '0.1000000000'];
    nf.restore(`*nat\n${ps.map((p) => `-A PREROUTING -m statistic --mode random --probability ${p} -j ACCEPT`).join('\n')}\nCOMMIT\n`);
    const got = nf.save({ header: false }).match(/probability \S+/g)!.map((s) => s.slice(12));
    expect(got).toEqual(['0.50000000000', '0.33333333349', '0.25000000000', '0.20000000019', '0.16666666651', '0.14285714272', '0.12500000000', '0.11111111101', '0.10000000009']);
  });
});

describe('argument splitting and quoting', () => {
  it('splits like iptables-restore', () => {
    expect(splitArgs('-A X -m comment --comment "a b \\"c\\"" -j Y')).toEqual(['-A', 'X', '-m', 'comment', '--comment', 'a b "c"', '-j', 'Y']);
    expect(splitArgs("--comment 'a b'")).toEqual(['--comment', "'a", "b'"]);
    expect(splitArgs('  -j   ACCEPT  ')).toEqual(['-j', 'ACCEPT']);
  });

  it('save quoting round-trips through the splitter', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\n\r\t]/.test(s) && s.trim() === s && !/ {2}/.test(s)), (s) => {
        const printed = saveString(s).slice(1);
        expect(splitArgs(printed)).toEqual([s]);
      }),
    );
  });
});

describe('iptables -L -n -v', () => {
  it('counters beyond 99999 in K/M/G as xtables_print_num (checked against iptables 1.8.9)', () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*filter\n:INPUT ACCEPT [100499:99999999999]\n[123456:98765432] -A INPUT -j ACCEPT\n[99999:1234567890123] -A INPUT -j ACCEPT\nCOMMIT\n', { counters: true });
    expect(nf.list('filter').split('\n\n')[0]).toBe(
      'Chain INPUT (policy ACCEPT 100K packets, 100G bytes)\n' +
        ' pkts bytes target     prot opt in     out     source               destination         \n' +
        ' 123K   99M ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0           \n' +
        '99999 1235G ACCEPT     0    --  *      *       0.0.0.0/0            0.0.0.0/0           ',
    );
  });
});
