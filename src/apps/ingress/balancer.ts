/**
 * ingress-nginx's default load balancing (rootfs/etc/nginx/lua/balancer/round_robin.lua over
 * lua-resty-balancer's resty.roundrobin): weighted round robin where every endpoint has
 * weight 1. `new`/`reinit` start at a random node (`get_random_node_id`: math.random(count)
 * steps into the node table) and `find` returns the node after it, so the first request
 * goes to a random endpoint and the following ones cycle in table order. The Lua table
 * order of `ip:port` keys is a hash order; kubewire uses the controller's endpoint order.
 * A balancer exists only for backends with endpoints (balancer.lua sync_backend drops the
 * others, and the rewrite phase then answers 503); it is re-initialised (new random start)
 * when the endpoint set changes. kubewire models one nginx worker.
 */
import type { Random } from '../../sim/random.js';

export class RoundRobin {
  private nodes: string[] = [];
  private weights: number[] = [];
  private lastIndex = -1; // position of last_id in the table; -1 = nil
  private cw = 0;
  private gcd = 1;
  private maxWeight = 1;

  constructor(
    private readonly rng: Random,
    nodes: readonly string[],
  ) {
    this.reinit(nodes);
  }

  get members(): readonly string[] {
    return this.nodes;
  }

  /** resty.roundrobin reinit: new node set, random start, cw = max weight. */
  reinit(nodes: readonly string[]): void {
    if (nodes.length === 0) throw new RangeError('empty nodes');
    this.nodes = [...nodes];
    this.weights = this.nodes.map(() => 1);
    this.maxWeight = Math.max(...this.weights);
    this.gcd = this.weights.reduce((a, b) => gcd(a, b));
    this.cw = this.maxWeight;
    // math.random(count) in [1, count]; then that many next() steps from nil
    this.lastIndex = this.rng.range(1, this.nodes.length) - 1;
  }

  /** resty.roundrobin find. */
  find(): string {
    if (this.nodes.length === 1) return this.nodes[0]!; // only_key
    let i = this.lastIndex;
    let cw = this.cw;
    for (;;) {
      for (;;) {
        i++;
        if (i >= this.nodes.length) break;
        if (this.weights[i]! >= cw) {
          this.cw = cw;
          this.lastIndex = i;
          return this.nodes[i]!;
        }
      }
      i = -1;
      cw -= this.gcd;
      if (cw <= 0) cw = this.maxWeight;
    }
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
