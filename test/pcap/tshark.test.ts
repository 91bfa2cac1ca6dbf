// Issue 3 acceptance: a pcapng and a classic pcap of frames built by wire/, decoded by the
// real tshark with checksum validation on and flannel's port decoded as VXLAN: every frame
// decodes as the protocols built, nothing malformed, no expert error, every checksum Good,
// interface names, directions and comments as written.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FileSink } from '../../src/pcap/file-sink.js';
import { PcapWriter, PcapngWriter, type CaptureSink } from '../../src/pcap/index.js';
import { missing } from '../helpers/tools.js';
import { captureProblems, frameProblems, tsharkFrames, type TsharkFrame } from '../helpers/tshark.js';
import { CALI, ETH0, FLANNEL, POD_ETH0, fragNeededFrame, sampleFrames, type SampleFrame } from './sample-frames.js';

const EPOCH = 1_767_225_600; // 2026-01-01T00:00:00Z
const why = missing({ tools: ['tshark', 'capinfos'] });

describe.skipIf(why !== null)('tshark decodes what pcap/ writes', () => {
  const dir = mkdtempSync(join(tmpdir(), `kwt-pcap-${process.pid}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const frames = sampleFrames();

  function write(name: string, make: (sink: FileSink) => CaptureSink & { close(): void }, list: SampleFrame[] = frames): string {
    const path = join(dir, name);
    const w = make(new FileSink(path));
    for (const f of list) w.frame(f.iface, f.timeNs, f.bytes, f.direction, f.comment);
    w.close();
    return path;
  }

  function checkDecoded(decoded: TsharkFrame[]): void {
    expect(captureProblems(decoded)).toEqual([]);
    expect(decoded.length).toBe(frames.length);
    decoded.forEach((d, i) => {
      const f = frames[i]!;
      expect(d.protocols.join(':'), `frame ${i + 1}`).toBe(f.protocols);
      // Checking was on and every header that carries a checksum was verified Good.
      expect(d.checksums, `frame ${i + 1}`).toEqual(f.checksums);
      expect(d.raw).toEqual(f.bytes);
      const ns = BigInt(EPOCH) * 1_000_000_000n + BigInt(f.timeNs);
      expect(d.timeEpoch).toBe(`${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`);
      // No warnings at all except the ones a real capture of these frames shows too.
      const warnings = d.expert.filter((e) => e.severity === 'warn' || e.severity === 'error');
      expect(warnings, `frame ${i + 1}`).toEqual([]);
    });
  }

  it('pcapng: clean decode, names, directions and comments as written', () => {
    const path = write('all.pcapng', (s) => new PcapngWriter(s, { epochSeconds: EPOCH, comment: 'issue 3 acceptance' }));
    const decoded = tsharkFrames(path, { raw: true });
    checkDecoded(decoded);
    expect(new Set(decoded.map((d) => d.interfaceName))).toEqual(new Set([POD_ETH0, FLANNEL, ETH0, CALI]));
    decoded.forEach((d, i) => {
      const f = frames[i]!;
      expect(d.interfaceName).toBe(f.iface);
      expect(d.comments).toEqual([f.comment]);
      expect(d.direction).toBe(f.direction === 'in' ? 1 : 2);
      // The comment also shows as Expert Info of severity Comment, as Wireshark users see it.
      expect(d.expert.filter((e) => e.severity === 'comment').map((e) => e.message)).toEqual([f.comment]);
    });
    // What capinfos says of the file as a whole (capinfos is in wireshark-common, beside tshark).
    const info = execFileSync('capinfos', [path], { encoding: 'utf8' });
    expect(info).toMatch(/^Strict time order: +True$/m);
    expect(info).toMatch(/^Capture application: +kubewire$/m);
    expect(info).toMatch(/^Capture comment: +issue 3 acceptance$/m);
    expect(info).toMatch(/^Number of interfaces in file: 4$/m);
    expect([...info.matchAll(/^ +Name = (.*)$/gm)].map((m) => m[1])).toEqual([POD_ETH0, FLANNEL, ETH0, CALI]);
    expect([...info.matchAll(/^ +Time precision = (.*)$/gm)].map((m) => m[1])).toEqual(Array(4).fill('nanoseconds (9)'));
  });

  it('classic pcap (µs and ns): the same clean decode, no names or comments', () => {
    for (const resolution of ['nanos', 'micros'] as const) {
      // µs files cannot hold the nanoseconds: compare only where times are whole microseconds.
      const list = resolution === 'nanos' ? frames : frames.map((f) => ({ ...f, timeNs: f.timeNs - (f.timeNs % 1000) }));
      const path = write(`all-${resolution}.pcap`, (s) => new PcapWriter(s, { epochSeconds: EPOCH, resolution }), list);
      const decoded = tsharkFrames(path, { raw: true });
      if (resolution === 'nanos') checkDecoded(decoded);
      expect(captureProblems(decoded)).toEqual([]);
      expect(decoded.map((d) => d.protocols.join(':'))).toEqual(frames.map((f) => f.protocols));
      for (const d of decoded) {
        expect(d.interfaceName).toBeNull();
        expect(d.comments).toEqual([]);
        expect(d.direction).toBeNull();
      }
    }
  });

  it('frag needed quoting a cut-short TCP segment: the verdicts tshark gives a real kernel frame', () => {
    const f = fragNeededFrame();
    const ours = tsharkFrames(write('frag.pcapng', (s) => new PcapngWriter(s), [{ ...f, checksums: {} }]))[0]!;
    const kernel = tsharkFrames(fileURLToPath(new URL('../fixtures/pcap/kernel-frag-needed-tcp.pcap', import.meta.url)))[0]!;
    expect(ours.protocols.join(':')).toBe(f.protocols);
    // (what follows the quoted TCP depends on the port: data for the kernel's 9000)
    expect(kernel.protocols.slice(0, 6)).toEqual(ours.protocols);
    expect(f.bytes.length).toBe(14 + 20 + 8 + 548);
    expect(kernel.fields.get('frame.len')).toEqual(['590']);
    // Outer IP, quoted IP and ICMP Good; the partial quoted TCP "Bad" on both, nothing else wrong.
    const verdict = (d: TsharkFrame) => ({
      checksums: d.checksums,
      malformed: d.malformed,
      bad: d.expert.filter((e) => e.severity === 'error' || e.severity === 'warn').map((e) => `${e.severity}/${e.group}/${e.field}`),
    });
    expect(verdict(ours)).toEqual({ checksums: { ip: [1, 1], icmp: [1], tcp: [0] }, malformed: [], bad: ['error/checksum/tcp.checksum_bad.expert'] });
    expect(verdict(kernel)).toEqual(verdict(ours));
  });

  it('the helper catches a bad checksum and a truncated header', () => {
    const syn = frames.findIndex((f) => f.comment.startsWith('tcp_connect'));
    const vx = frames.findIndex((f) => f.protocols.includes('vxlan'));
    const badTcp = frames[syn]!.bytes.slice();
    badTcp[14 + 20 + 16]! ^= 0x01; // TCP checksum
    const badInnerIp = frames[vx]!.bytes.slice();
    badInnerIp[50 + 14 + 10]! ^= 0x80; // inner IPv4 header checksum
    const truncated = frames[syn]!.bytes.slice(0, 14 + 20 + 10);
    const list = [badTcp, badInnerIp, truncated].map((bytes, i) => ({ ...frames[syn]!, timeNs: i + 1, bytes }));
    const decoded = tsharkFrames(write('bad.pcapng', (s) => new PcapngWriter(s), list));
    expect(frameProblems(decoded[0]!)).toEqual(
      expect.arrayContaining([expect.stringMatching(/tcp\.checksum\.status\[0\] = 0/), expect.stringMatching(/expert \w+\/checksum/)]),
    );
    expect(frameProblems(decoded[1]!)).toEqual(expect.arrayContaining([expect.stringMatching(/ip\.checksum\.status\[1\] = 0/)]));
    expect(frameProblems(decoded[2]!)).toEqual(expect.arrayContaining([expect.stringMatching(/_ws\.malformed/)]));
  });
});
