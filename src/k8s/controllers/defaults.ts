/**
 * The Corefile a cluster gets when the scenario gives none: kubeadm's (cmd/kubeadm, the
 * CoreDNS manifest), with the cluster domain filled in.
 */
export function DEFAULT_COREFILE(domain: string): string {
  return `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes ${domain} in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;
}
