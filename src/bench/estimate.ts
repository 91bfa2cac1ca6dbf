/**
 * Kernel cost ESTIMATES from the model's counts and the per-rule / per-packet costs measured on
 * this machine's kernel (shared/reference/kernel-costs.md §2 and §4, medians, single core):
 *  - a new flow whose Service is the first rule of KUBE-SERVICES: 2.0-2.3 µs (legacy), 2.7-3.2 µs
 *    (iptables-nft); each further KUBE-SERVICES rule skipped: 5-7 ns (legacy; 6.2 at 5k-10k),
 *    21-25 ns (nft; 22 at 5k-20k);
 *  - an established packet (conntrack hit, no rule walk): 1.4-1.7 µs legacy, 1.7-1.9 µs nft.
 * These are receive-path costs for a locally delivered packet in a VM; a forwarded packet costs
 * more. IPVS was not measurable here (no ip_vs module): its estimate assumes the IPVS lookup
 * costs what one matching rule does, which is a guess, and says so in `basis`.
 */
export interface KernelCosts {
  perRuleNs: number;
  firstHitNs: number;
  establishedNs: number;
}

export const KERNEL_COSTS: { legacy: KernelCosts; nft: KernelCosts } = {
  legacy: { perRuleNs: 6.2, firstHitNs: 2200, establishedNs: 1500 },
  nft: { perRuleNs: 22, firstHitNs: 2900, establishedNs: 1800 },
};

export interface KernelEstimate {
  /** iptables-legacy estimate, ns per packet */
  legacyNs: number;
  /** iptables-nft backend estimate, ns per packet */
  nftNs: number;
  basis: string;
}

/** First packet: the best case (rule hit first) plus every extra rule evaluated at the per-rule cost. */
export function estimateFirst(mode: 'iptables' | 'ipvs', rules: number, rulesAtBest: number): KernelEstimate {
  const extra = Math.max(0, rules - rulesAtBest);
  const f = (c: KernelCosts): number => Math.round(c.firstHitNs + c.perRuleNs * extra);
  return {
    legacyNs: f(KERNEL_COSTS.legacy),
    nftNs: f(KERNEL_COSTS.nft),
    basis: mode === 'iptables'
      ? 'estimate: kernel-costs.md §2 new flow with the Service first (2.2 / 2.9 µs) + (rules evaluated - rules at the first position) x 6.2 / 22 ns per rule'
      : 'estimate (IPVS not measured here): kernel-costs.md §2 new flow with a matching first rule (2.2 / 2.9 µs) + extra rules x 6.2 / 22 ns; the IPVS hash lookup is assumed to cost one rule',
  };
}

export function estimateEstablished(rules: number, rulesAtBest: number): KernelEstimate {
  const extra = Math.max(0, rules - rulesAtBest);
  const f = (c: KernelCosts): number => Math.round(c.establishedNs + c.perRuleNs * extra);
  return {
    legacyNs: f(KERNEL_COSTS.legacy),
    nftNs: f(KERNEL_COSTS.nft),
    basis: 'estimate: kernel-costs.md §2 established packet, conntrack hit (1.5 / 1.8 µs) + extra rules x 6.2 / 22 ns',
  };
}
