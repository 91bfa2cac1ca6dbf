// The lab harness itself: namespaces are made, joined, captured on, and all removed again.
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '../helpers/tools.js';
import { Lab, sleep } from './harness/netns.js';

const why = missing({ root: true, tools: ['ip', 'tcpdump', 'ping'] });

describe.skipIf(why !== null)('kernel lab harness', () => {
  const lab = new Lab('harness');
  afterAll(() => lab.cleanup());

  it('joins two namespaces with a veth, captures a ping, and cleans up', async () => {
    lab.addNetns('a');
    lab.addNetns('b');
    lab.ip('a', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lab.ns('b'));
    lab.ip('a', 'addr', 'add', '10.99.0.1/24', 'dev', 'eth0');
    lab.ip('b', 'addr', 'add', '10.99.0.2/24', 'dev', 'eth0');
    lab.ip('a', 'link', 'set', 'eth0', 'up');
    lab.ip('b', 'link', 'set', 'eth0', 'up');
    const stop = await lab.capture('b', 'eth0');
    lab.exec('a', ['ping', '-c', '1', '-W', '2', '10.99.0.2']);
    await sleep(100);
    const pcap = await stop();
    // Classic pcap, little-endian microsecond magic, and at least ARP + echo request + reply.
    expect(Array.from(pcap.subarray(0, 4))).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
    let records = 0;
    for (let off = 24; off + 16 <= pcap.length; records++) {
      const incl = new DataView(pcap.buffer, pcap.byteOffset + off + 8, 4).getUint32(0, true);
      off += 16 + incl;
    }
    expect(records).toBeGreaterThanOrEqual(3);
    lab.cleanup();
    expect(lab.leftovers()).toEqual([]);
  });
});
