/**
 * The iptables rules flanneld keeps (pkg/trafficmngr/iptables), as the iptables-restore text
 * it writes with --noflush: nat masquerading (with --ip-masq) and filter forwarding (with
 * --iptables-forward-rules, the default). `network` is the flannel network (10.42.0.0/16),
 * `lease` this node's subnet (10.42.1.0/24).
 */
export interface FlannelIptablesOptions {
  network: string;
  lease: string;
  ipMasq: boolean;
  forwardRules: boolean;
  /** iptables >= 1.6.2 supports it and flanneld then always adds it. */
  randomFully: boolean;
}

const MASQ = '-m comment --comment "flanneld masq"';
const FWD = '-m comment --comment "flanneld forward"';

export function flannelRestoreText(o: FlannelIptablesOptions): string {
  const rf = o.randomFully ? ' --random-fully' : '';
  const out: string[] = [];
  if (o.ipMasq) {
    out.push(
      '*nat',
      ':FLANNEL-POSTRTG - [0:0]',
      `-A POSTROUTING ${MASQ} -j FLANNEL-POSTRTG`,
      // kube-proxy's marked packets are left to KUBE-POSTROUTING.
      `-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 ${MASQ} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${o.lease} -d ${o.network} ${MASQ} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${o.network} -d ${o.lease} ${MASQ} -j RETURN`,
      `-A FLANNEL-POSTRTG ! -s ${o.network} -d ${o.lease} ${MASQ} -j RETURN`,
      `-A FLANNEL-POSTRTG -s ${o.network} ! -d 224.0.0.0/4 ${MASQ} -j MASQUERADE${rf}`,
      `-A FLANNEL-POSTRTG ! -s ${o.network} -d ${o.network} ${MASQ} -j MASQUERADE${rf}`,
      'COMMIT',
    );
  }
  if (o.forwardRules) {
    out.push(
      '*filter',
      ':FLANNEL-FWD - [0:0]',
      `-A FORWARD ${FWD} -j FLANNEL-FWD`,
      `-A FLANNEL-FWD -s ${o.network} ${FWD} -j ACCEPT`,
      `-A FLANNEL-FWD -d ${o.network} ${FWD} -j ACCEPT`,
      'COMMIT',
    );
  }
  return out.length ? out.join('\n') + '\n' : '';
}
