import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32Std, clusterPolicyChain, endpointChain, portProtoHash } from '../../../src/k8s/kube-proxy/chain-names.js';
import { computeProbability } from '../../../src/k8s/kube-proxy/iptables.js';
import { masqueradeMark } from '../../../src/k8s/kube-proxy/config.js';

describe('chain-name hash (reference kube-proxy.md 1.5)', () => {
  it.each([
    ['ns1/svc1:p80', 'tcp', 'XPGD46QRK7WJZT7O'],
    ['default/kubernetes:https', 'tcp', 'NPX46M4PTMTKRN6Y'],
    ['kube-system/kube-dns:dns', 'udp', 'TCOU7JCQXEZGVUNU'],
    ['kube-system/kube-dns:dns-tcp', 'tcp', 'ERIFXISQEP7F7OF4'],
    ['kube-system/kube-dns:metrics', 'tcp', 'JD5MR3NA4I4DYORP'],
  ])('%s %s -> %s', (spn, proto, h) => {
    expect(portProtoHash(spn, proto)).toBe(h);
    expect(clusterPolicyChain(spn, proto)).toBe(`KUBE-SVC-${h}`);
  });

  it('hashes endpoints into KUBE-SEP names', () => {
    expect(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.1:80')).toBe('KUBE-SEP-SXIVWICOYRO3J4NJ');
    expect(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.2:80')).toBe('KUBE-SEP-LXVODXWDISEETFEF');
    expect(endpointChain('ns1/svc1:p80', 'tcp', '10.180.0.3:80')).toBe('KUBE-SEP-ICDUIKC33SFI6ZPR');
  });

  it('base32 matches RFC 4648 test vectors', () => {
    const enc = (s: string) => base32Std(new TextEncoder().encode(s));
    expect(enc('')).toBe('');
    expect(enc('f')).toBe('MY======');
    expect(enc('fo')).toBe('MZXQ====');
    expect(enc('foo')).toBe('MZXW6===');
    expect(enc('foob')).toBe('MZXW6YQ=');
    expect(enc('fooba')).toBe('MZXW6YTB');
    expect(enc('foobar')).toBe('MZXW6YTBOI======');
  });

  it('a sha256 digest encodes to 56 characters with padding', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const d = createHash('sha256').update(s).digest();
        const e = base32Std(new Uint8Array(d));
        return e.length === 56 && e.endsWith('====') && /^[A-Z2-7]+=*$/.test(e);
      }),
    );
  });
});

describe('statistic probabilities and mark', () => {
  it('formats 1/n like Go %0.10f (upstream TestComputeProbability)', () => {
    const expected: Record<number, string> = {
      1: '1.0000000000',
      2: '0.5000000000',
      10: '0.1000000000',
      100: '0.0100000000',
      1000: '0.0010000000',
      10000: '0.0001000000',
      100000: '0.0000100000',
      100001: '0.0000099999',
      3: '0.3333333333',
      2048: '0.0004882812', // exact tie: Go rounds half to even
    };
    for (const [n, s] of Object.entries(expected)) expect(computeProbability(Number(n))).toBe(s);
  });

  it('probabilities strictly decrease', () => {
    let prev = Infinity;
    for (let i = 2; i < 5000; i++) {
      const p = Number(computeProbability(i));
      expect(p).toBeLessThan(prev);
      prev = p;
    }
  });

  it('formats the mark as Go %#08x', () => {
    expect(masqueradeMark(14)).toBe('0x00004000');
    expect(masqueradeMark(0)).toBe('0x00000001');
    expect(masqueradeMark(31)).toBe('0x80000000');
  });
});
