// Felix's rule hashes and chain names checked against iptables dumps of real nodes: every
// expected `cali:` value below was printed by a Calico node, not computed here.
import { describe, expect, it } from 'vitest';
import { fnv1_32, lengthLimitedId, ruleHashes } from '../../../src/k8s/calico/hash.js';
import { allocateMarks, EndpointMarkMapper, RuleRenderer, type RulesConfig } from '../../../src/k8s/calico/rules.js';
import { act, chainHashes } from '../../../src/k8s/calico/table.js';

const CFG: RulesConfig = {
  workloadIfacePrefixes: ['cali'],
  marks: allocateMarks(0xffff0000, false),
  kubeIPVSSupportEnabled: false,
  kubeNodePortRanges: [[30000, 32767]],
  endpointToHostAction: 'ACCEPT',
  filterAllowAction: 'ACCEPT',
  mangleAllowAction: 'ACCEPT',
  filterDenyAction: 'DROP',
  serviceLoopPrevention: 'Drop',
  vxlanPort: 4789,
  allowVXLANPacketsFromWorkloads: false,
  allowIPIPPacketsFromWorkloads: false,
  disableConntrackInvalid: false,
  randomFully: true,
};

describe('Felix rule hashes (generictables.RuleHashes)', () => {
  it('the hooks from the kernel chains carry the hashes every Calico node shows', () => {
    const hook = (chain: string, target: string): string => chainHashes({ name: chain, rules: [{ action: act.jump(target) }] })[0]!;
    expect(hook('FORWARD', 'cali-FORWARD')).toBe('wUHhoiAYhphO9Mso');
    expect(hook('INPUT', 'cali-INPUT')).toBe('Cz_u1IQiXIMmKD4c');
    expect(hook('OUTPUT', 'cali-OUTPUT')).toBe('tVnHkvAo15HuiPy0');
    expect(hook('PREROUTING', 'cali-PREROUTING')).toBe('6gwbT8clXdHdC1b1');
    expect(hook('POSTROUTING', 'cali-POSTROUTING')).toBe('O3lYWMrLQYEMJtB5');
  });

  it('each hash chains the previous one (raw cali-OUTPUT of a v3.2x node, marks 0xf0000)', () => {
    // projectcalico/calico#6522: njdnLwYeGqBJyMxW then rz86uTUcEZAfFsh7.
    expect(ruleHashes('cali-OUTPUT', ['-A cali-OUTPUT HASH --jump MARK --set-mark 0/0xf0000', '-A cali-OUTPUT HASH --jump cali-to-host-endpoint'])).toEqual(['njdnLwYeGqBJyMxW', 'rz86uTUcEZAfFsh7']);
    // Changing the first rule changes every later hash.
    expect(ruleHashes('cali-OUTPUT', ['-A cali-OUTPUT HASH --jump MARK --set-mark 0/0x1b0000', '-A cali-OUTPUT HASH --jump cali-to-host-endpoint'])[1]).not.toBe('rz86uTUcEZAfFsh7');
  });

  it("a workload endpoint's chains and the dispatch tree equal a real node's (kube-system/coredns pod)", () => {
    const r = new RuleRenderer(CFG);
    const [tw, fw] = r.workloadEndpointToIptablesChains({ name: 'cali6945b3c77c1', profileIds: ['kns.kube-system', 'ksa.kube-system.coredns'] }, null);
    expect(tw!.name).toBe('cali-tw-cali6945b3c77c1');
    expect(chainHashes(tw!)).toEqual(['HQmb4ynkZAbRDTQN', 'Fl5WOjTZC8NjDm7g', 'bQPhfGtTyDOCRNps', 'o51s5VsmSAnu3N01', '9cr8CTQGKGqpza1O', '0fZCOHVuLlEfnafW', 'HjD0Bnok152LKInM', 'h3S9jIqjz-8yyKFs']);
    expect(chainHashes(fw!)).toEqual(['-db-9r1pdOkcPeXV', '05Cg5Hj-EgQSn3aV', 'M_24EbTTpNA31qQj', 'Dcq0ZfOzjhng02y0', 'askR-WWM5RBQ3fIf', 'kFpZFMONqSKa7dnz', '7gQj2O9Y2aHDO9i6', 'Ury1iaxgqSBDRiGy', 'WAuALgJrasFzkqMB', '2y0yOe9ix2PzV009']);
    const names = ['cali1dac8782bdb', 'cali3579be14420', 'cali6945b3c77c1', 'cali6f60a778e0b', 'cali868a4e4c0db', 'cali9d04617f188'];
    const byName = new Map(r.workloadDispatchChains(names).map((c) => [c.name, chainHashes(c)]));
    expect(byName.get('cali-from-wl-dispatch')).toEqual(['aHK7yU_mJjLvN9P9', 'wHNdnT4ytw3hnQFt', '_b2AeThG6a53s1Jk', 'Bb81zxJNbVhCAzR-', 'RzmU3PGwDi5LZ3Y1', 'CPCo32RHIaeTT15t']);
    expect(byName.get('cali-from-wl-dispatch-6')).toEqual(['51KYRHlKbzvZo9Tu', 'K6kzaLeHUWg36Bzo', 'BloWYvybf6fUB-zQ']);
    expect(byName.get('cali-to-wl-dispatch')).toEqual(['1PVbibbGdAYWXuD8', 'QsyNwpYieiiyOGzM', 'KujuNK2hBy3nyojz', 'zsKliieYuD6jYPaw', 'iNjyAaVU-t635DEz', 'M_1efBassqWauUhR']);
    expect(byName.get('cali-to-wl-dispatch-6')).toEqual(['voCtztmwuL5cVC6K', 'bkgw_3X7Q9UFJeX4', 'BYUERmLynWaeKPK_']);
  });

  it('profiles: kns allows (one MARK rule, the trailing RETURN stripped), ksa has one empty rule', () => {
    const r = new RuleRenderer(CFG);
    const [pri, pro] = r.profileToIptablesChains({ id: 'kns.kube-system', inbound: [{ action: 'allow' }], outbound: [{ action: 'allow' }] });
    expect(pri.rules).toHaveLength(1);
    expect(chainHashes(pri)).toEqual(['J1TyxtHWd0qaBGK-']);
    expect(chainHashes(pro)).toEqual(['tgOR2S8DVHZW3F1M']);
    const [spri, spro] = r.profileToIptablesChains({ id: 'ksa.kube-system.coredns', inbound: [], outbound: [] });
    expect(spri.name).toBe('cali-pri-_u2Tn2rSoAPffvE7JO6');
    expect(chainHashes(spri)).toEqual(['WqgznqAQ-uYV0oBx']);
    expect(chainHashes(spro)).toEqual(['0-_UPh39dt5XfhmJ']);
  });

  it('static chains whose rules do not depend on the mark layout match a real node', () => {
    const r = new RuleRenderer(CFG);
    const filter = new Map(r.staticFilterTableChains().map((c) => [c.name, chainHashes(c)]));
    expect(filter.get('cali-wl-to-host')).toEqual(['Ee9Sbo10IpVujdIY', 'nSZbcOoG1xPONxb8']);
    expect(filter.get('cali-OUTPUT')![0]).toBe('Mq1_rAdXXH3YkrzW');
    const nat = new Map(r.staticNATTableChains().map((c) => [c.name, chainHashes(c)]));
    expect(nat.get('cali-PREROUTING')).toEqual(['r6XmIziWUJsdOK6Z']);
    expect(nat.get('cali-POSTROUTING')).toEqual(['Z-c7XtVd2Bq7s_hA', 'nYKhEzDlr11Jccal']);
    expect(nat.get('cali-OUTPUT')).toEqual(['GBTAv2p5CwevEyJm']);
    const mangle = new Map(r.staticMangleTableChains().map((c) => [c.name, chainHashes(c)]));
    expect(mangle.get('cali-PREROUTING')!.slice(0, 3)).toEqual(['6BJqBjBC7crtA-7-', 'KX7AGNd6rMcDUai6', 'wNH7KsA3ILKJBsY9']);
  });
});

describe('names and marks', () => {
  it('GetLengthLimitedID keeps names that fit and hashes the rest to 28 characters', () => {
    expect(lengthLimitedId('cali-pri-', 'kns.kube-system', 28)).toBe('cali-pri-kns.kube-system');
    const long = lengthLimitedId('cali-pri-', 'ksa.kube-system.coredns', 28);
    expect(long).toBe('cali-pri-_u2Tn2rSoAPffvE7JO6');
    expect(long).toHaveLength(28);
  });

  it('mark bits from 0xffff0000: accept, pass, drop, scratch0, scratch1, then the endpoint block', () => {
    const m = allocateMarks(0xffff0000, true);
    expect(m).toEqual({ accept: 0x10000, pass: 0x20000, drop: 0x40000, scratch0: 0x80000, scratch1: 0x100000, endpoint: 0xffe00000, nonCaliEndpoint: 0x200000 });
    expect(allocateMarks(0xffff0000, false).nonCaliEndpoint).toBe(0);
  });

  it('FNV-1 32 as Go hash/fnv New32, and endpoint marks inside the block, never the non-Cali one', () => {
    expect(fnv1_32('')).toBe(0x811c9dc5);
    expect(fnv1_32('a')).toBe(0x050c5d7e);
    const em = new EndpointMarkMapper(0xffe00000, 0x200000);
    const a = em.get('cali18e95c70453');
    expect((a & ~0xffe00000) >>> 0).toBe(0);
    expect(a).not.toBe(0x200000);
    expect(em.get('cali18e95c70453')).toBe(a);
    expect(em.get('cali0000000000b')).not.toBe(a);
  });
});
