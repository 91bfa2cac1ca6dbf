import { describe, expect, it } from 'vitest';
import { flannelRestoreText } from '../../../src/k8s/flannel/iptables.js';

describe("flanneld's iptables-restore payload", () => {
  it('matches what flanneld writes for the node holding 10.42.0.0/24 (golden)', async () => {
    const text = flannelRestoreText({ network: '10.42.0.0/16', lease: '10.42.0.0/24', ipMasq: true, forwardRules: true, randomFully: true });
    await expect(text).toMatchFileSnapshot('../../golden/flannel/iptables-restore-node0.txt');
  });

  it('writes no nat table without --ip-masq, and nothing with both off', () => {
    const t = flannelRestoreText({ network: '10.42.0.0/16', lease: '10.42.3.0/24', ipMasq: false, forwardRules: true, randomFully: true });
    expect(t).not.toContain('*nat');
    expect(t).toContain('-A FLANNEL-FWD -d 10.42.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT');
    expect(flannelRestoreText({ network: '10.42.0.0/16', lease: '10.42.3.0/24', ipMasq: false, forwardRules: false, randomFully: true })).toBe('');
  });

  it('leaves --random-fully out when iptables lacks it', () => {
    const t = flannelRestoreText({ network: '10.42.0.0/16', lease: '10.42.3.0/24', ipMasq: true, forwardRules: false, randomFully: false });
    expect(t).toMatch(/-j MASQUERADE\n/);
    expect(t).not.toContain('random-fully');
  });
});

import { afterAll } from 'vitest';
import { missing } from '../../helpers/tools.js';
import { Lab } from '../../kernel/harness/netns.js';

const why = missing({ root: true, tools: ['ip', 'iptables-restore', 'iptables-save'] });
describe.skipIf(why !== null)('the payload loads into a real kernel', () => {
  const lab = new Lab('flannel-ipt');
  afterAll(() => lab.cleanup());
  it('iptables-restore --noflush accepts it and iptables-save prints every rule back', () => {
    lab.addNetns('node');
    const text = flannelRestoreText({ network: '10.42.0.0/16', lease: '10.42.0.0/24', ipMasq: true, forwardRules: true, randomFully: true });
    lab.exec('node', ['iptables-restore', '--noflush'], text);
    const saved = lab.exec('node', ['iptables-save']);
    for (const line of text.split('\n').filter((l) => l.startsWith('-A'))) expect(saved).toContain(line);
  });
});
