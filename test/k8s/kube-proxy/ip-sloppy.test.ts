// parseIpv4Sloppy reads by char codes (it runs per endpoint per sync); it must accept exactly
// what the regex definition (ParseIPSloppy for IPv4: four 1-3 digit decimal octets <= 255,
// leading zeros allowed) accepts, with the same value.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseIpv4Sloppy, parseIpv4SloppyReference } from '../../../src/k8s/kube-proxy/ip.js';

describe('parseIpv4Sloppy', () => {
  it('agrees with the regex definition on dotted strings of digits and noise', () => {
    const part = fc.oneof(fc.stringMatching(/^[0-9]{0,4}$/), fc.constantFrom('', '256', '999', '007', 'a', ' 1', '1 ', '-1', '+1'));
    const text = fc.oneof(fc.array(part, { minLength: 1, maxLength: 6 }).map((ps) => ps.join('.')), fc.string({ maxLength: 20 }));
    fc.assert(fc.property(text, (t) => {
      expect(parseIpv4Sloppy(t)).toBe(parseIpv4SloppyReference(t));
    }), { seed: 11, numRuns: 3000 });
  });
  it('reads leading zeros as decimal and refuses out-of-range octets', () => {
    expect(parseIpv4Sloppy('010.001.000.255')).toBe(((10 << 24) | (1 << 16) | 255) >>> 0);
    expect(parseIpv4Sloppy('1.2.3.256')).toBeUndefined();
    expect(parseIpv4Sloppy('1.2.3')).toBeUndefined();
    expect(parseIpv4Sloppy('1.2.3.4.')).toBeUndefined();
    expect(parseIpv4Sloppy('0001.2.3.4')).toBeUndefined();
  });
});
