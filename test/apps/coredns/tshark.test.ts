// Every reply shape kubewire's CoreDNS writes (uncompressed, compressed + truncated, OPT with
// cookie, BADVERS, SRV with additionals, TXT, SOA) decoded by tshark: no malformed packets,
// and tshark's fields agree with ours.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { missing } from '../../helpers/tools.js';
import { ask, makeWorld } from './fixture.js';

const why = missing({ tools: ['tshark', 'text2pcap'] });

describe.skipIf(why !== null)('tshark decodes CoreDNS replies', () => {
  it('has no malformed packet and reads the same counts and flags', () => {
    const w = makeWorld();
    const cookie = { udpSize: 1232, do: false, version: 0, extRcode: 0, options: [{ code: 10, data: Buffer.from('0102030405060708', 'hex') }] };
    const replies = [
      ask(w, 'backend-service.k8s.svc.cluster.local', 'A'),
      ask(w, 'clickhouse-service.clickhouse.svc.cluster.local', 'SRV'), // compressed, truncated, tc
      ask(w, '_tcp._tcp.clickhouse-service.clickhouse.svc.cluster.local', 'SRV', { edns: cookie }),
      ask(w, 'nope.k8s.svc.cluster.local', 'A'),
      ask(w, 'dns-version.cluster.local', 'TXT'),
      ask(w, 'external-xxx.k8s.svc.cluster.local', 'A'),
      ask(w, 'cluster.local', 'NS'),
      ask(w, 'backend-service.k8s.svc.cluster.local', 'A', { edns: { udpSize: 1232, do: false, version: 1, extRcode: 0, options: [] } }),
    ];
    const dir = mkdtempSync(join(tmpdir(), 'kwt-dns-'));
    try {
      const hex = replies.map(({ bytes }) => Buffer.from(bytes).toString('hex').match(/../g)!.map((b, i) => `${i % 16 === 0 ? `${(i).toString(16).padStart(6, '0')} ` : ''}${b}${i % 16 === 15 ? '\n' : ' '}`).join('') + '\n').join('\n');
      writeFileSync(join(dir, 'in.txt'), hex);
      execFileSync('text2pcap', ['-q', '-4', '10.43.0.10,10.42.4.15', '-u', '53,45678', join(dir, 'in.txt'), join(dir, 'out.pcap')]);
      const out = execFileSync('tshark', ['-r', join(dir, 'out.pcap'), '-T', 'fields', '-e', 'dns.count.answers', '-e', 'dns.count.auth_rr', '-e', 'dns.count.add_rr', '-e', 'dns.flags.truncated', '-e', 'dns.flags.rcode', '-e', '_ws.malformed', '-e', '_ws.expert.severity'], { encoding: 'utf8' });
      const rows = out.replace(/\n+$/, '').split('\n').map((l) => l.split('\t'));
      expect(rows).toHaveLength(replies.length);
      rows.forEach((row, i) => {
        const m = replies[i]!.reply;
        expect(row[0]).toBe(String(m.answer.length));
        expect(row[1]).toBe(String(m.ns.length));
        expect(row[2]).toBe(String(m.extra.length + (m.edns ? 1 : 0)));
        expect(row[3] === 'True' || row[3] === '1').toBe(m.tc);
        expect(row[4]).toBe(String(m.rcode & 0xf));
        expect(row[5]).toBe('');
        expect(row[6]).not.toMatch(/Error|Warn/i);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
