// The reader on files written by the real tools: dumpcap (pcapng with SHB hardware/os/app,
// IDB if_name/if_description/if_tsresol/if_os, an Interface Statistics Block) and tcpdump
// (classic pcap, microsecond and nanosecond magic). Captured in a throw-away netns:
// `ping -c 2 127.0.0.1` on lo, 4 frames each (test/fixtures/pcap/); and one ICMP fragmentation-
// needed frame a Linux 6.18 router namespace sent for a TCP segment (tcpdump, trimmed by editcap).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/pcap/index.js';
import { missing } from '../helpers/tools.js';
import { tsharkFrames } from '../helpers/tshark.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/pcap/${name}`, import.meta.url));
const FILES = ['dumpcap-lo-ping.pcapng', 'tcpdump-lo-ping.pcap', 'tcpdump-lo-ping-ns.pcap', 'kernel-frag-needed-tcp.pcap'];
const load = (name: string) => new Uint8Array(readFileSync(fixture(name)));

/** ns since 1970 as tshark prints frame.time_epoch with nanosecond precision. */
function epoch(ns: bigint): string {
  return `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
}

describe('reader on real captures', () => {
  it('reads dumpcap pcapng: section, interface and the 4 ICMP frames', () => {
    const f = readCapture(load('dumpcap-lo-ping.pcapng'));
    expect(f.format).toBe('pcapng');
    expect(f.sections).toHaveLength(1);
    expect(f.sections[0]!.application).toMatch(/^Dumpcap \(Wireshark\) 4\.0/);
    expect(f.sections[0]!.os).toMatch(/^Linux /);
    expect(f.interfaces).toHaveLength(1);
    expect(f.interfaces[0]).toMatchObject({ id: 0, name: 'lo', description: 'Loopback', linktype: 1, tsresol: 9 });
    // echo request, reply, request, reply: ICMP type at 14 + 20.
    expect(f.records.map((r) => [r.interfaceName, r.data.length, r.data[12], r.data[13], r.data[34]])).toEqual([
      ['lo', 98, 8, 0, 8],
      ['lo', 98, 8, 0, 0],
      ['lo', 98, 8, 0, 8],
      ['lo', 98, 8, 0, 0],
    ]);
  });

  it('reads tcpdump classic pcap in both resolutions, with equal frames', () => {
    const us = readCapture(load('tcpdump-lo-ping.pcap'));
    const ns = readCapture(load('tcpdump-lo-ping-ns.pcap'));
    expect([us.resolution, ns.resolution]).toEqual(['micros', 'nanos']);
    expect(us.records.length).toBe(4);
    expect(ns.records.map((r) => r.data)).toEqual(us.records.map((r) => r.data));
    us.records.forEach((r, i) => {
      const n = ns.records[i]!.timestampNs;
      expect(r.timestampNs).toBe(n - (n % 1000n));
    });
  });

  const why = missing({ tools: ['tshark'] });
  it.skipIf(why !== null)('agrees with tshark on every frame of every fixture', () => {
    for (const name of FILES) {
      const mine = readCapture(load(name)).records;
      const theirs = tsharkFrames(fixture(name), { raw: true, decodeAs: [] });
      expect(mine.length).toBe(theirs.length);
      mine.forEach((r, i) => {
        const t = theirs[i]!;
        expect(epoch(r.timestampNs)).toBe(t.timeEpoch);
        expect(r.data).toEqual(t.raw);
        expect(String(r.originalLength)).toBe(t.fields.get('frame.len')?.[0]);
        expect(r.interfaceName).toBe(t.interfaceName);
      });
    }
  });
});
