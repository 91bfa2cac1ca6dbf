import { describe, expect, it } from 'vitest';
import {
  IP_VS_CONN_F_MASQ, IP_VS_SVC_F_ONEPACKET, IP_VS_SVC_F_PERSISTENT, IPPROTO_UDP, ipvsadmListConn, NS_PER_S, type Ipvs,
  type IpvsPacketInfo,
} from '../../src/ipvs/index.js';
import { formatIpv4 } from '../../src/wire/ipv4-address.js';
import { addDests, ip, model, svcSpec, syn, tcp } from './helpers.js';

const SYN = 0x02, ACK = 0x10, FIN = 0x01, RST = 0x04;
const VIP = ip('10.43.0.10');
const CLIENT = ip('10.42.4.15');

function setup(over: Parameters<typeof svcSpec>[0] = {}) {
  const m = model();
  const svc = m.ipvs.addService(svcSpec(over));
  const names = addDests(m.ipvs, svc, [{ name: 'B', addr: '10.42.0.2' }, { name: 'A', addr: '10.42.0.1' }]);
  return { ...m, svc, names };
}

function inn(ipvs: Ipvs, p: IpvsPacketInfo) {
  return ipvs.inPacket(p, 'LOCAL_IN');
}

function server(ipvs: Ipvs, p: IpvsPacketInfo): string {
  const d = inn(ipvs, p);
  return d.kind === 'xmit' ? formatIpv4(d.conn.daddr) : d.kind;
}

describe('ipvs connection entries (ip_vs_conn.c, ip_vs_proto_tcp.c, ip_vs_proto_udp.c)', () => {
  it('walks the TCP state table with the kernel timeouts and active/inactive counters', () => {
    const { ipvs, clock, svc } = setup();
    const d = inn(ipvs, syn(CLIENT, 40000, VIP, 80));
    if (d.kind !== 'xmit') throw new Error('not scheduled');
    const cp = d.conn;
    const dest = cp.dest!;
    const step = (dir: 'in' | 'out', flags: number) => {
      if (dir === 'in') inn(ipvs, tcp(flags, CLIENT, 40000, VIP, 80));
      else ipvs.outPacket(tcp(flags, cp.daddr, cp.dport, CLIENT, 40000), 'FORWARD');
      return [cp.stateName(), (cp.expires - clock.t) / NS_PER_S, dest.activeconns, dest.inactconns];
    };
    expect([cp.stateName(), (cp.expires - clock.t) / NS_PER_S, dest.activeconns, dest.inactconns]).toEqual(['SYN_RECV', 60, 1, 0]);
    expect(step('out', SYN | ACK)).toEqual(['SYN_RECV', 60, 1, 0]);
    expect(step('in', ACK)).toEqual(['ESTABLISHED', 900, 1, 0]);
    expect(step('in', FIN | ACK)).toEqual(['CLOSE_WAIT', 60, 0, 1]);
    expect(step('out', FIN | ACK)).toEqual(['TIME_WAIT', 120, 0, 1]);
    expect(step('in', ACK)).toEqual(['TIME_WAIT', 120, 0, 1]);
    clock.t += 119 * NS_PER_S;
    expect(ipvs.connections()).toHaveLength(1);
    clock.t += 1 * NS_PER_S;
    expect(ipvs.connections()).toHaveLength(0);
    expect([dest.activeconns, dest.inactconns]).toEqual([0, 0]);
    expect(svc.stats.conns).toBe(1);
  });

  it('a server-side close goes FIN_WAIT; RST closes with 10 s; LISTEN/none flags give CLOSE', () => {
    const { ipvs, clock } = setup();
    const a = inn(ipvs, syn(CLIENT, 40001, VIP, 80));
    const b = inn(ipvs, syn(CLIENT, 40002, VIP, 80));
    if (a.kind !== 'xmit' || b.kind !== 'xmit') throw new Error('not scheduled');
    inn(ipvs, tcp(ACK, CLIENT, 40001, VIP, 80));
    ipvs.outPacket(tcp(FIN | ACK, a.conn.daddr, 80, CLIENT, 40001), 'FORWARD');
    expect(a.conn.stateName()).toBe('FIN_WAIT');
    expect((a.conn.expires - clock.t) / NS_PER_S).toBe(120);
    // A client RST in SYN_RECV leaves it there (tcp_states: input rst from sSR is sSR).
    inn(ipvs, tcp(RST, CLIENT, 40002, VIP, 80));
    expect(b.conn.stateName()).toBe('SYN_RECV');
    inn(ipvs, tcp(ACK, CLIENT, 40002, VIP, 80));
    inn(ipvs, tcp(RST, CLIENT, 40002, VIP, 80));
    expect(b.conn.stateName()).toBe('CLOSE');
    expect((b.conn.expires - clock.t) / NS_PER_S).toBe(10);
    // A segment with no SYN/FIN/ACK/RST bit: tcp_state_idx -1 -> CLOSE.
    inn(ipvs, tcp(0, CLIENT, 40001, VIP, 80));
    expect(a.conn.stateName()).toBe('CLOSE');
  });

  it('only a SYN creates an entry; other TCP segments pass untouched', () => {
    const { ipvs } = setup();
    expect(inn(ipvs, tcp(ACK, CLIENT, 40003, VIP, 80))).toEqual({ kind: 'accept', reason: 'no entry and not a SYN' });
    ipvs.sysctl.sloppy_tcp = 1;
    expect(inn(ipvs, tcp(ACK, CLIENT, 40003, VIP, 80)).kind).toBe('xmit');
    expect(inn(ipvs, tcp(SYN, CLIENT, 40004, ip('10.43.0.99'), 80))).toEqual({ kind: 'accept', reason: 'no virtual service' });
  });

  it('UDP entries stay in state UDP for 300 s and count as inactive', async () => {
    const { ipvs, clock } = setup({ protocol: IPPROTO_UDP, port: 53 });
    const p: IpvsPacketInfo = { ...syn(CLIENT, 5353, VIP, 53), protocol: IPPROTO_UDP, tcpFlags: 0 };
    const d = inn(ipvs, p);
    if (d.kind !== 'xmit') throw new Error('not scheduled');
    expect([d.conn.stateName(), (d.conn.expires - clock.t) / NS_PER_S, d.conn.dest!.activeconns, d.conn.dest!.inactconns]).toEqual(['UDP', 300, 0, 1]);
    clock.t += 299 * NS_PER_S;
    expect(inn(ipvs, p)).toMatchObject({ kind: 'xmit', created: false });
    clock.t += 299 * NS_PER_S;
    expect(ipvs.connections()).toHaveLength(1);
    clock.t += 2 * NS_PER_S;
    expect(ipvs.connections()).toHaveLength(0);
  });

  it('one-packet scheduling (ops) drops the UDP entry right after the packet', () => {
    const { ipvs, clock } = setup({ protocol: IPPROTO_UDP, port: 53, flags: IP_VS_SVC_F_ONEPACKET });
    const p: IpvsPacketInfo = { ...syn(CLIENT, 5353, VIP, 53), protocol: IPPROTO_UDP, tcpFlags: 0 };
    const seq = [server(ipvs, p), server(ipvs, p), server(ipvs, p)];
    expect(seq).toEqual(['10.42.0.1', '10.42.0.2', '10.42.0.1']);
    clock.t += 1;
    expect(ipvs.connections()).toHaveLength(0);
  });

  it('conn_reuse_mode=1: a SYN on a TIME_WAIT entry is scheduled anew (dropped when its conntrack is confirmed)', () => {
    const { ipvs } = setup();
    const first = inn(ipvs, syn(CLIENT, 40010, VIP, 80));
    if (first.kind !== 'xmit') throw new Error('not scheduled');
    inn(ipvs, tcp(ACK, CLIENT, 40010, VIP, 80));
    inn(ipvs, tcp(FIN | ACK, CLIENT, 40010, VIP, 80));
    ipvs.outPacket(tcp(FIN | ACK, first.conn.daddr, 80, CLIENT, 40010), 'FORWARD');
    expect(first.conn.stateName()).toBe('TIME_WAIT');
    // rr: A was first; the reused port now goes to B.
    expect(server(ipvs, syn(CLIENT, 40010, VIP, 80))).toBe('10.42.0.2');
    const again = inn(ipvs, syn(CLIENT, 40011, VIP, 80));
    if (again.kind !== 'xmit') throw new Error('not scheduled');
    inn(ipvs, tcp(ACK, CLIENT, 40011, VIP, 80));
    inn(ipvs, tcp(RST, CLIENT, 40011, VIP, 80));
    expect(again.conn.stateName()).toBe('CLOSE');
    expect(inn(ipvs, syn(CLIENT, 40011, VIP, 80, { ctConfirmed: true }))).toMatchObject({ kind: 'drop' });
  });

  it('conn_reuse_mode=0: the SYN keeps the old entry and its server', () => {
    const { ipvs } = setup();
    ipvs.sysctl.conn_reuse_mode = 0;
    const first = inn(ipvs, syn(CLIENT, 40020, VIP, 80));
    if (first.kind !== 'xmit') throw new Error('not scheduled');
    inn(ipvs, tcp(ACK, CLIENT, 40020, VIP, 80));
    inn(ipvs, tcp(RST, CLIENT, 40020, VIP, 80));
    expect(first.conn.stateName()).toBe('CLOSE');
    const d = inn(ipvs, syn(CLIENT, 40020, VIP, 80));
    expect(d).toMatchObject({ kind: 'xmit', created: false });
    expect(d.kind === 'xmit' && d.conn).toBe(first.conn);
    expect(first.conn.stateName()).toBe('SYN_RECV');
  });

  it('quiescent (weight 0) servers keep their connections but get no new ones', () => {
    const { ipvs, svc } = setup();
    const a = inn(ipvs, syn(CLIENT, 40030, VIP, 80));
    if (a.kind !== 'xmit') throw new Error('not scheduled');
    ipvs.editDest(svc, { addr: ip('10.42.0.1'), port: 80, fwd: IP_VS_CONN_F_MASQ, weight: 0 });
    expect(inn(ipvs, tcp(ACK, CLIENT, 40030, VIP, 80))).toMatchObject({ kind: 'xmit', created: false });
    expect([1, 2, 3].map((i) => server(ipvs, syn(CLIENT, 40030 + i, VIP, 80)))).toEqual(['10.42.0.2', '10.42.0.2', '10.42.0.2']);
    // expire_nodest_conn=1: a new SYN on the weight-0 server's entry is rescheduled.
    ipvs.sysctl.expire_nodest_conn = 1;
    expect(server(ipvs, syn(CLIENT, 40030, VIP, 80))).toBe('10.42.0.2');
  });

  it('a removed server: packets of its entries are dropped, or with expire_nodest_conn the entries go', () => {
    const { ipvs, svc } = setup();
    const a = inn(ipvs, syn(CLIENT, 40040, VIP, 80));
    if (a.kind !== 'xmit') throw new Error('not scheduled');
    ipvs.delDest(svc, ip('10.42.0.1'), 80);
    expect(inn(ipvs, tcp(ACK, CLIENT, 40040, VIP, 80))).toMatchObject({ kind: 'drop', reason: 'real server removed' });
    // The entry still counts on the removed server (it lives on in the trash).
    expect(a.conn.dest!.activeconns).toBe(1);
    ipvs.sysctl.expire_nodest_conn = 1;
    expect(server(ipvs, syn(CLIENT, 40040, VIP, 80))).toBe('10.42.0.2');
    const b = inn(ipvs, syn(CLIENT, 40041, VIP, 80));
    if (b.kind !== 'xmit') throw new Error('not scheduled');
    ipvs.delDest(svc, ip('10.42.0.2'), 80);
    expect(ipvs.connections()).toHaveLength(0);
  });

  it('no destination: ip_vs_leave answers ICMP port unreachable', () => {
    const { ipvs, svc } = setup();
    ipvs.editDest(svc, { addr: ip('10.42.0.1'), port: 80, fwd: IP_VS_CONN_F_MASQ, weight: 0 });
    ipvs.editDest(svc, { addr: ip('10.42.0.2'), port: 80, fwd: IP_VS_CONN_F_MASQ, weight: 0 });
    expect(inn(ipvs, syn(CLIENT, 40050, VIP, 80))).toEqual({ kind: 'drop', reason: 'no destination available', icmpPortUnreachable: true });
  });

  it('persistence: one template per client keeps its server; expire_quiescent_template invalidates it', async () => {
    const { ipvs, clock, svc } = setup({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 600 });
    const seq = [0, 1, 2].map((i) => server(ipvs, syn(CLIENT, 41000 + i, VIP, 80)));
    expect(seq).toEqual(['10.42.0.1', '10.42.0.1', '10.42.0.1']);
    expect(server(ipvs, syn(ip('10.42.4.16'), 41000, VIP, 80))).toBe('10.42.0.2');
    const tpl = ipvs.connections().filter((c) => c.isTemplate);
    expect(tpl.map((t) => `${formatIpv4(t.caddr)}:${t.cport} ${formatIpv4(t.vaddr)}:${t.vport} ${formatIpv4(t.daddr)}:${t.dport} ${t.nControl}`).sort())
      .toEqual(['10.42.4.15:0 10.43.0.10:80 10.42.0.1:80 3', '10.42.4.16:0 10.43.0.10:80 10.42.0.2:80 1']);
    expect(svc.dests.find((d) => d.addr === ip('10.42.0.1'))!.persistconns).toBe(1);
    // Quiesce A: without the sysctl the template still sends the client to A.
    ipvs.editDest(svc, { addr: ip('10.42.0.1'), port: 80, fwd: IP_VS_CONN_F_MASQ, weight: 0 });
    expect(server(ipvs, syn(CLIENT, 41010, VIP, 80))).toBe('10.42.0.1');
    ipvs.sysctl.expire_quiescent_template = 1;
    expect(server(ipvs, syn(CLIENT, 41011, VIP, 80))).toBe('10.42.0.2');
    clock.t += 1 * NS_PER_S;
    await expect(ipvsadmListConn(ipvs)).toMatchFileSnapshot('../golden/ipvsadm/Lnc-persistence.txt');
    expect(ipvsadmListConn(ipvs)).toContain('TCP 09:59  NONE        10.42.4.15:0       10.43.0.10:65535   10.42.0.1:65535\n');
  });

  it('a template outlives its timeout while it controls entries (re-armed for 60 s)', () => {
    const { ipvs, clock } = setup({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 30 });
    const d = inn(ipvs, syn(CLIENT, 42000, VIP, 80));
    if (d.kind !== 'xmit') throw new Error('not scheduled');
    inn(ipvs, tcp(ACK, CLIENT, 42000, VIP, 80)); // ESTABLISHED: 900 s
    clock.t += 31 * NS_PER_S;
    const tpl = ipvs.connections().find((c) => c.isTemplate)!;
    expect((tpl.expires - clock.t) / NS_PER_S).toBe(59);
    clock.t += 870 * NS_PER_S; // entry expires at 900 s
    expect(ipvs.connections().filter((c) => !c.isTemplate)).toHaveLength(0);
    expect(ipvs.connections().filter((c) => c.isTemplate)).toHaveLength(1);
    clock.t += 60 * NS_PER_S;
    expect(ipvs.connections()).toHaveLength(0);
  });

  it('persistence netmask groups clients of one network', () => {
    const { ipvs } = setup({ flags: IP_VS_SVC_F_PERSISTENT, timeout: 600, netmask: ip('255.255.255.0') });
    expect(server(ipvs, syn(ip('10.1.2.3'), 1000, VIP, 80))).toBe('10.42.0.1');
    expect(server(ipvs, syn(ip('10.1.2.200'), 1000, VIP, 80))).toBe('10.42.0.1');
    expect(server(ipvs, syn(ip('10.1.3.3'), 1000, VIP, 80))).toBe('10.42.0.2');
  });

  it('ipvsadm --set changes the ESTABLISHED, FIN_WAIT and UDP timeouts', () => {
    const { ipvs, clock } = setup();
    ipvs.setTimeout(3600, 30, 60);
    const d = inn(ipvs, syn(CLIENT, 43000, VIP, 80));
    if (d.kind !== 'xmit') throw new Error('not scheduled');
    inn(ipvs, tcp(ACK, CLIENT, 43000, VIP, 80));
    expect((d.conn.expires - clock.t) / NS_PER_S).toBe(3600);
    expect(ipvs.getTimeout()).toEqual({ tcp: 3600, tcpfin: 30, udp: 60 });
  });

  it('an upper threshold overloads a server until its connections fall to 3/4', () => {
    const { ipvs, clock, svc } = setup();
    ipvs.editDest(svc, { addr: ip('10.42.0.1'), port: 80, fwd: IP_VS_CONN_F_MASQ, weight: 1, uThreshold: 2 });
    const seq = [0, 1, 2, 3, 4].map((i) => server(ipvs, syn(CLIENT, 44000 + i, VIP, 80)));
    // A, B, A (A now has 2 = threshold: overloaded), B, B
    expect(seq).toEqual(['10.42.0.1', '10.42.0.2', '10.42.0.1', '10.42.0.2', '10.42.0.2']);
    expect(svc.dests.find((d) => d.addr === ip('10.42.0.1'))!.overloaded).toBe(true);
    clock.t += 61 * NS_PER_S; // all SYN_RECV entries expire
    ipvs.tick();
    expect(svc.dests.find((d) => d.addr === ip('10.42.0.1'))!.overloaded).toBe(false);
  });
});
