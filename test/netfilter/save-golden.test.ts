// Golden iptables-save dumps of the model for the restore payloads in payloads/. Their
// content was checked against the real iptables-save 1.8.9 (nf_tables) by kernel-save.test.ts.
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Netfilter } from '../../src/netfilter/netfilter.js';
import { FakeNetns } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('iptables-save golden dumps', () => {
  for (const name of ['kube-proxy', 'flannel', 'calico']) {
    it(name, async () => {
      const ns = new FakeNetns();
      ns.time = 1_796_164_499e9;
      const nf = new Netfilter(ns);
      if (name === 'kube-proxy') nf.restore('*nat\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n');
      nf.restore(readFileSync(join(here, 'payloads', `${name}.txt`), 'utf8'), { noflush: true });
      await expect(nf.save()).toMatchFileSnapshot(`../golden/iptables-save/${name}.txt`);
    });
  }

  it('counters after traffic (iptables-save -c)', async () => {
    const ns = new FakeNetns();
    const nf = new Netfilter(ns);
    nf.restore(readFileSync(join(here, 'payloads', 'flannel.txt'), 'utf8'));
    const { packet, forward } = await import('./helpers.js');
    ns.addrs.push({ dev: 'eth0', addr: '192.168.4.86', cidr: '192.168.4.0/24' });
    forward(nf, packet({ src: '10.42.0.5', dst: '1.1.1.1', proto: 'udp', dport: 53, payload: 20 }), 'cni0', 'eth0');
    forward(nf, packet({ src: '10.42.0.5', dst: '10.42.1.9', proto: 'tcp' }), 'cni0', 'flannel.1');
    await expect(nf.save({ header: false, counters: true })).toMatchFileSnapshot('../golden/iptables-save/flannel-counters.txt');
  });
});

describe('iptables -t nat -L -n -v golden', () => {
  it('kube-proxy nat table', async () => {
    const nf = new Netfilter(new FakeNetns());
    nf.restore('*nat\n:KUBE-SVC-STALE0000000000 - [0:0]\nCOMMIT\n');
    nf.restore(readFileSync(join(here, 'payloads', 'kube-proxy.txt'), 'utf8'), { noflush: true });
    await expect(nf.list('nat')).toMatchFileSnapshot('../golden/iptables-save/kube-proxy-nat-L-n-v.txt');
  });
});
