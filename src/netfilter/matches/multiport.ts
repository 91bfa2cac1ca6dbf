import type { MatchModule } from '../module.js';
import { param } from '../module.js';
import { IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP } from '../packet.js';
import { type PortRange, parsePortRange, savePortRange, inRange } from './ports.js';

/** libxt_multiport v1 / xt_multiport: --sports, --dports, --ports with up to 15 ports. */
interface MultiportSpec {
  flag: 'sports' | 'dports' | 'ports' | '';
  ports: PortRange[];
  invert: boolean;
}

export const multiportMatch: MatchModule<MultiportSpec> = {
  name: 'multiport',
  options: { sports: true, 'source-ports': true, dports: true, 'destination-ports': true, ports: true },
  create: () => ({ flag: '', ports: [], invert: false }),
  parse(s, opt, arg, inv) {
    if (s.flag !== '') param('multiport can only have one option');
    s.flag = opt === 'source-ports' ? 'sports' : opt === 'destination-ports' ? 'dports' : (opt as MultiportSpec['flag']);
    s.invert = inv;
    const parts = arg.split(',');
    let count = 0;
    for (const p of parts) {
      const r = parsePortRange(p);
      count += r[0] === r[1] ? 1 : 2;
      s.ports.push(r);
    }
    if (count > 15) param('too many ports specified');
  },
  final(s, pc) {
    if (s.flag === '') param('multiport expects an option');
    if (pc.protoInvert || ![IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 33, 136].includes(pc.proto))
      param("multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'");
  },
  save(s) {
    return `${s.invert ? ' !' : ''} --${s.flag} ${s.ports.map(savePortRange).join(',')}`;
  },
  print: (s) => ` multiport ${s.flag} ${s.invert ? ' !' : ''}${s.ports.map(savePortRange).join(',')}`,
  compile(s) {
    const { flag, ports, invert } = s;
    return (c) => {
      if (c.sport < 0) return false;
      let m = false;
      for (const r of ports) {
        if ((flag !== 'dports' && inRange(r, c.sport)) || (flag !== 'sports' && inRange(r, c.dport))) {
          m = true;
          break;
        }
      }
      return m !== invert;
    };
  },
};
