import { describe, it, expect, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { IpsetRestoreError } from '../../src/netfilter/ipset/restore.js';
import { IpsetError } from '../../src/netfilter/ipset/set.js';
import { FakeNetns } from './helpers.js';
import { missing } from '../helpers/tools.js';

const RESTORE = `create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add KUBE-CLUSTER-IP 10.43.0.10,udp:53
add KUBE-CLUSTER-IP 10.43.0.10,tcp:53
add KUBE-CLUSTER-IP 10.43.0.1,tcp:443
create KUBE-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add KUBE-LOOP-BACK 10.42.0.134,tcp:18888,10.42.0.134
create KUBE-LOAD-BALANCER-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
add KUBE-LOAD-BALANCER-SOURCE-CIDR 5.6.7.8,tcp:80,203.0.113.0/25
create KUBE-NODE-PORT-TCP bitmap:port range 0-65535
add KUBE-NODE-PORT-TCP 30080
add KUBE-NODE-PORT-TCP 80
create KUBE-6-NETS hash:net family inet hashsize 1024 maxelem 65536
add KUBE-6-NETS 10.0.0.0/8
add KUBE-6-NETS 192.168.1.1
create KUBE-HEALTH-CHECK-NODE-PORT bitmap:port range 0-65535
create CMT hash:ip,port family inet hashsize 1024 maxelem 65536 comment
add CMT 1.2.3.4,tcp:5 comment "hello"
create TMO hash:ip family inet hashsize 1024 maxelem 65536 timeout 300
add TMO 10.0.0.1
`;

function loaded(): { nf: Netfilter; ns: FakeNetns } {
  const ns = new FakeNetns(11);
  const nf = new Netfilter(ns);
  nf.ipsetRestore(RESTORE);
  return { nf, ns };
}

describe('ipset', () => {
  it('list and save goldens', async () => {
    const { nf, ns } = loaded();
    nf.restore('*filter\n-A INPUT -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\n-A FORWARD -m set --match-set KUBE-CLUSTER-IP dst,dst -j ACCEPT\nCOMMIT\n');
    ns.time = 20e9;
    await expect(nf.ipsetList()).toMatchFileSnapshot('../golden/ipset/list.txt');
    await expect(nf.ipsetSave()).toMatchFileSnapshot('../golden/ipset/save.txt');
    expect(nf.ipsetList('KUBE-CLUSTER-IP')).toContain('References: 2\n');
    expect(nf.ipsetList('TMO')).toContain('10.0.0.1 timeout 280\n');
  });

  it('add/del/test/flush/destroy/swap with the tool\'s errors', () => {
    const { nf } = loaded();
    const r = nf.ipsets;
    expect(r.test('KUBE-CLUSTER-IP', '10.43.0.10,udp:53')).toBe(true);
    expect(r.test('KUBE-CLUSTER-IP', '10.43.0.10,udp:54')).toBe(false);
    expect(r.test('KUBE-CLUSTER-IP', '10.43.0.1,443')).toBe(true); // proto defaults to tcp
    expect(r.test('KUBE-6-NETS', '10.1.2.3')).toBe(true);
    expect(r.test('KUBE-6-NETS', '11.1.2.3')).toBe(false);
    expect(r.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', '5.6.7.8,tcp:80,203.0.113.77')).toBe(true);
    expect(r.test('KUBE-LOAD-BALANCER-SOURCE-CIDR', '5.6.7.8,tcp:80,203.0.113.200')).toBe(false);
    expect(() => r.add('KUBE-CLUSTER-IP', '10.43.0.10,udp:53')).toThrow("Element cannot be added to the set: it's already added");
    expect(() => r.add('KUBE-CLUSTER-IP', '10.0.0.300,udp:53')).toThrow('Syntax error: cannot parse 10.0.0.300: resolving to IPv4 address failed');
    r.add('KUBE-CLUSTER-IP', '10.43.0.10,udp:53', [], true);
    r.del('KUBE-CLUSTER-IP', '10.43.0.10,udp:53');
    expect(() => r.del('KUBE-CLUSTER-IP', '10.43.0.10,udp:53')).toThrow("Element cannot be deleted from the set: it's not added");
    r.create('NEW', 'hash:ip,port');
    r.add('NEW', '9.9.9.9,udp:9');
    r.swap('KUBE-CLUSTER-IP', 'NEW');
    expect(r.test('KUBE-CLUSTER-IP', '9.9.9.9,udp:9')).toBe(true);
    expect(() => r.swap('KUBE-CLUSTER-IP', 'KUBE-6-NETS')).toThrow(IpsetError);
    nf.restore('*filter\n-A INPUT -m set --match-set NEW dst,dst -j ACCEPT\nCOMMIT\n');
    expect(() => r.destroy('NEW')).toThrow('Set cannot be destroyed: it is in use by a kernel component');
    r.flush('NEW');
    expect(nf.ipsetList('NEW')).toContain('Number of entries: 0\nMembers:\n');
    r.destroy('TMO');
    expect(r.get('TMO')).toBeUndefined();
  });

  it('restore fails with the line number and changes nothing', () => {
    const { nf } = loaded();
    const before = nf.ipsetSave();
    let err: unknown;
    try {
      nf.ipsetRestore('create Z hash:ip\nadd Z 1.1.1.1\nadd Z bogus\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(IpsetRestoreError);
    expect((err as IpsetRestoreError).stderr).toBe('ipset v7.17: Error in line 3: Syntax error: cannot parse bogus: resolving to IPv4 address failed\n');
    expect(nf.ipsetSave()).toBe(before);
  });
});

const why = missing({ root: true, tools: ['ipset', 'ip'] });
describe.skipIf(why !== null)('ipset list/save against the real ipset 7.17', () => {
  const ns = `kwt-nfipset-${process.pid}`;
  afterAll(() => {
    try {
      execFileSync('ip', ['netns', 'del', ns]);
    } catch {
      /* not made */
    }
  });
  it('same lines once initval, memory size and member order are set aside', () => {
    execFileSync('ip', ['netns', 'add', ns]);
    const restore = RESTORE.replace(/^add TMO.*\n/m, '');
    execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'restore'], { input: restore });
    const norm = (s: string): string =>
      s
        .split('\n')
        .map((l) => l.replace(/initval 0x[0-9a-f]+/, 'initval X').replace(/^Size in memory: \d+/, 'Size in memory: X'))
        .sort()
        .join('\n');
    const { nf } = (() => {
      const f = new FakeNetns(11);
      const n = new Netfilter(f);
      n.ipsetRestore(restore);
      return { nf: n };
    })();
    const realList = execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'list'], { encoding: 'utf8' });
    const realSave = execFileSync('ip', ['netns', 'exec', ns, 'ipset', 'save'], { encoding: 'utf8' });
    expect(norm(nf.ipsetList())).toBe(norm(realList));
    expect(norm(nf.ipsetSave())).toBe(norm(realSave));
  });
});
