import { describe, expect, it } from 'vitest';
import { Ipvs, runIpvsadm } from '../../src/ipvs/index.js';
import { ip, model, syn } from './helpers.js';

const scratch = (ipvs: Ipvs) => () => new Ipvs({ clock: ipvs.clock });

describe('runIpvsadm: ipvsadm command lines against the model', () => {
  const table = [
    '-A -t 10.43.0.10:53 -s rr', '-a -t 10.43.0.10:53 -r 10.42.1.4:53 -m -w 1',
    '-A -u 10.43.0.10:53 -s rr', '-a -u 10.43.0.10:53 -r 10.42.1.4:53 -m -w 1',
    '-A -t 10.43.0.1:443 -s rr', '-a -t 10.43.0.1:443 -r 192.168.4.86:6443 -m -w 1',
    '-A -t 10.43.5.5:8080 -s rr', '-a -t 10.43.5.5:8080 -r 10.42.2.2:80 -m -w 1',
  ].join('\n');

  it('table commands, -Sn, -Ln, -L (port names), -L of one service', async () => {
    const { ipvs } = model();
    for (const line of table.split('\n')) expect(runIpvsadm(ipvs, line.split(' '))).toEqual({ stdout: '', stderr: '', status: 0 });
    expect(runIpvsadm(ipvs, ['-Sn']).stdout).toBe(runIpvsadm(ipvs, ['--save', '--numeric']).stdout);
    await expect(runIpvsadm(ipvs, ['-Ln']).stdout).toMatchFileSnapshot('../golden/ipvsadm/cli-Ln.txt');
    const named = runIpvsadm(ipvs, ['-L']).stdout;
    // getservbyport from /etc/services; addresses stay numeric (no resolver).
    expect(named).toContain(`TCP  10.43.0.10:domain rr\n  -> ${'10.42.1.4:domain'.padEnd(28)} Masq    1      0          0         \n`);
    expect(named).toContain('TCP  10.43.0.1:https rr\n');
    expect(named).toContain(`TCP  10.43.5.5:http-alt rr\n  -> ${'10.42.2.2:http'.padEnd(28)} Masq`);
    await expect(named).toMatchFileSnapshot('../golden/ipvsadm/cli-L.txt');
    expect(runIpvsadm(ipvs, ['-S']).stdout).toContain('-A -t 10.43.0.10:domain -s rr\n');
    expect(runIpvsadm(ipvs, ['-Ln', '-t', '10.43.0.1:443']).stdout).toBe(
      'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.43.0.1:443 rr\n  -> 192.168.4.86:6443            Masq    1      0          0         \n');
    expect(runIpvsadm(ipvs, ['-Ln', '-t', '10.43.0.9:443'])).toEqual({ stdout: '', stderr: 'No such service\n', status: 1 });
    expect(runIpvsadm(ipvs, ['-Ln', '--timeout']).stdout).toBe('Timeout (tcp tcpfin udp): 900 120 300\n');
  });

  it('-S without -n round-trips through service names', () => {
    const { ipvs } = model();
    runIpvsadm(ipvs, ['-R'], { stdin: table, makeScratch: scratch(ipvs) });
    const named = runIpvsadm(ipvs, ['-S']).stdout;
    const b = model().ipvs;
    expect(runIpvsadm(b, ['-R'], { stdin: named, makeScratch: scratch(b) }).status).toBe(0);
    expect(runIpvsadm(b, ['-Sn']).stdout).toBe(runIpvsadm(ipvs, ['-Sn']).stdout);
  });

  it('-Lnc and list option conflicts', () => {
    const { ipvs } = model();
    runIpvsadm(ipvs, ['-R'], { stdin: table, makeScratch: scratch(ipvs) });
    ipvs.inPacket(syn(ip('10.42.4.15'), 40000, ip('10.43.0.1'), 443), 'LOCAL_IN');
    expect(runIpvsadm(ipvs, ['-Lnc']).stdout).toBe(
      'IPVS connection entries\npro expire state       source             virtual            destination\n'
      + 'TCP 01:00  SYN_RECV    10.42.4.15:40000   10.43.0.1:443      192.168.4.86:6443\n');
    expect(runIpvsadm(ipvs, ['-Lc']).stdout).toContain('10.42.4.15:40000   10.43.0.1:https    192.168.4.86:6443\n');
    expect(runIpvsadm(ipvs, ['-Lnc', '--stats'])).toEqual({ stdout: '', stderr: 'options conflicts in the list command\n', status: 2 });
  });

  it('errors as ipvsadm reports them', () => {
    const { ipvs } = model();
    expect(runIpvsadm(ipvs, ['-D', '-t', '10.0.0.1:80'])).toEqual({ stdout: '', stderr: 'No such service\n', status: 255 });
    expect(runIpvsadm(ipvs, ['-A', '-t', '10.0.0.1:80', '-s', 'rr']).status).toBe(0);
    expect(runIpvsadm(ipvs, ['-A', '-t', '10.0.0.1:80', '-s', 'rr'])).toEqual({ stdout: '', stderr: 'Service already exists\n', status: 255 });
    expect(runIpvsadm(ipvs, ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-x', 'q'])).toEqual({ stdout: '', stderr: 'illegal u_threshold specified\n', status: 2 });
    expect(runIpvsadm(ipvs, ['-C']).status).toBe(0);
    expect(ipvs.services()).toHaveLength(0);
  });
});
