// `ss -n` text for the model's sockets against what iproute2 6.1's ss printed for the same
// sockets on Linux 6.18 (test/golden/ss/, captured from python3 programs in two namespaces
// joined by a veth: a listener with backlog 128 on 0.0.0.0:8080, UDP on 0.0.0.0:53 and
// 10.99.0.2:5000 connected to 10.99.0.1:53, a client bound to port 40000 that sends "hello";
// the server closes after 1 s, the client after 1.5 s).
import { describe, expect, it } from 'vitest';
import { millis, seconds } from '../../../src/sim/clock.js';
import { ipv4 } from '../../../src/wire/ipv4-address.js';
import { formatSs, parseSsFlags } from '../../../src/linux/sock/ss.js';
import { A, B, buildPair } from './model-pair.js';

function scenario() {
  const m = buildPair(21);
  m.b.tcpListen(8080, () => ({ onData: (s) => m.env.clock.schedule(seconds(1), () => s.close()) }), { reuseAddr: true, backlog: 128 });
  m.b.udp().bind(53);
  m.b.udp().bind(5000, B).connect(A, 53);
  m.env.clock.schedule(millis(1), () => {
    m.a.tcpConnect(B, 8080, {
      onConnect: (s) => {
        s.write(new TextEncoder().encode('hello'));
        m.env.clock.schedule(seconds(1.5), () => s.close());
      },
    }, { localPort: 40000 });
  });
  const at = (t: number) => m.env.clock.run(t);
  return { m, at };
}

describe('ss -n', () => {
  it('matches the real ss for every socket state of the exchange', async () => {
    const { m, at } = scenario();
    at(millis(500));
    await expect(formatSs(m.a, parseSsFlags('-tan'))).toMatchFileSnapshot('../../golden/ss/a-tan-estab.txt');
    await expect(formatSs(m.b, parseSsFlags('-tan'))).toMatchFileSnapshot('../../golden/ss/b-tan-estab.txt');
    await expect(formatSs(m.b, parseSsFlags('-tn'))).toMatchFileSnapshot('../../golden/ss/b-tn-estab.txt');
    at(millis(1250));
    await expect(formatSs(m.b, parseSsFlags('-tan'))).toMatchFileSnapshot('../../golden/ss/b-tan-fin-wait-2.txt');
    at(millis(1750));
    await expect(formatSs(m.b, parseSsFlags('-tan'))).toMatchFileSnapshot('../../golden/ss/b-tan-time-wait.txt');
    await expect(formatSs(m.b, parseSsFlags('-tn'))).toMatchFileSnapshot('../../golden/ss/b-tn-time-wait.txt');
    await expect(formatSs(m.b, parseSsFlags('-uan'))).toMatchFileSnapshot('../../golden/ss/b-uan.txt');
    await expect(formatSs(m.b, parseSsFlags('-tuan'))).toMatchFileSnapshot('../../golden/ss/b-tuan.txt');
    await expect(formatSs(m.b, parseSsFlags('-ltn'))).toMatchFileSnapshot('../../golden/ss/b-ltn.txt');
    await expect(formatSs(m.b, parseSsFlags('-lun'))).toMatchFileSnapshot('../../golden/ss/b-lun.txt');
  });

  it('Send-Q counts the SYN of a connect in progress (SYN-SENT 0 1) and unacknowledged data', () => {
    const m = buildPair(22);
    m.a.tcpConnect(ipv4(10, 99, 0, 2), 9, {}, { localPort: 40001 });
    const line = formatSs(m.a, parseSsFlags('-tn')).split('\n')[1]!;
    expect(line.startsWith('SYN-SENT 0      1 ')).toBe(true);
  });

  it('rejects flags it does not implement, naming them', () => {
    expect(() => parseSsFlags('-tanp')).toThrow(/unsupported flags "-tanp"/);
  });
});

// The goldens above were printed by the real ss; this re-runs the same programs in real
// namespaces and checks ss still prints them (so a changed iproute2 shows up here).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { missing } from '../../helpers/tools.js';
import { Lab, sleep } from '../../kernel/harness/netns.js';

const why = missing({ root: true, tools: ['ip', 'ss', 'python3'] });
const golden = (name: string) => readFileSync(fileURLToPath(new URL(`../../golden/ss/${name}.txt`, import.meta.url)), 'utf8');

describe.skipIf(why !== null)('ss goldens against the real ss', () => {
  it('prints the golden text for the same sockets', async () => {
    const lab = new Lab('ss');
    try {
      for (const n of ['a', 'b']) {
        lab.addNetns(n);
        lab.exec(n, ['sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1']);
      }
      lab.ip('a', 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', lab.ns('b'));
      lab.ip('a', 'addr', 'add', '10.99.0.1/24', 'dev', 'va');
      lab.ip('b', 'addr', 'add', '10.99.0.2/24', 'dev', 'vb');
      lab.ip('a', 'link', 'set', 'va', 'up');
      lab.ip('b', 'link', 'set', 'vb', 'up');
      lab.spawn('b', ['python3', '-c', [
        'import socket,time',
        "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(('0.0.0.0',8080)); s.listen()",
        "u=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u.bind(('0.0.0.0',53))",
        "u2=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); u2.bind(('10.99.0.2',5000)); u2.connect(('10.99.0.1',53))",
        'c,a=s.accept(); c.recv(100); time.sleep(1.0); c.close(); time.sleep(6)',
      ].join('\n')]);
      await sleep(500);
      lab.spawn('a', ['python3', '-c', [
        'import socket,time',
        "c=socket.socket(); c.bind(('0.0.0.0',40000)); c.connect(('10.99.0.2',8080)); c.sendall(b'hello'); time.sleep(2.0); c.close(); time.sleep(1)",
      ].join('\n')]);
      // Poll for each state rather than trusting sleeps (starting processes takes time).
      const until = async (ns: string, what: string): Promise<string> => {
        for (let i = 0; i < 60; i++) {
          const out = lab.exec(ns, ['ss', '-tan']);
          if (out.includes(what)) return out;
          await sleep(50);
        }
        throw new Error(`no ${what} in ${ns}`);
      };
      expect(await until('a', 'ESTAB')).toBe(golden('a-tan-estab'));
      expect(await until('b', 'ESTAB')).toBe(golden('b-tan-estab'));
      expect(await until('b', 'FIN-WAIT-2')).toBe(golden('b-tan-fin-wait-2'));
      expect(await until('b', 'TIME-WAIT')).toBe(golden('b-tan-time-wait'));
      // The kernel lists UDP sockets by hash slot, (port + a per-namespace random) & mask, so
      // their order changes from one namespace to the next: compare those rows as a set.
      const rowsSorted = (t: string) => {
        const [head, ...rest] = t.split('\n');
        return [head, ...rest.sort()];
      };
      expect(rowsSorted(lab.exec('b', ['ss', '-tuan']))).toEqual(rowsSorted(golden('b-tuan')));
      expect(lab.exec('b', ['ss', '-lun'])).toBe(golden('b-lun'));
    } finally {
      lab.cleanup();
    }
    expect(lab.leftovers()).toEqual([]);
  });
});
