import type { Pod } from '../api/types.js';

export interface SchedulableNode {
  readonly name: string;
  readonly labels: Record<string, string>;
}

/**
 * A deterministic stand-in for kube-scheduler: pods that name a node keep it; the others go
 * to the node matching their nodeSelector with the fewest pods so far (the effect of the
 * default spreading scores), ties broken by node order. Answers pods it could not place.
 */
export function schedule(pods: Pod[], nodes: readonly SchedulableNode[]): Pod[] {
  const count = new Map(nodes.map((n) => [n.name, 0]));
  for (const p of pods) if (p.spec.nodeName) count.set(p.spec.nodeName, (count.get(p.spec.nodeName) ?? 0) + 1);
  const unschedulable: Pod[] = [];
  for (const p of pods) {
    if (p.spec.nodeName) continue;
    const sel = p.spec.nodeSelector ?? {};
    let best: SchedulableNode | undefined;
    for (const n of nodes) {
      if (!Object.entries(sel).every(([k, v]) => n.labels[k] === v)) continue;
      if (!best || count.get(n.name)! < count.get(best.name)!) best = n;
    }
    if (!best) {
      unschedulable.push(p);
      p.status = { ...(p.status ?? {}), phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False' }] };
      continue;
    }
    p.spec.nodeName = best.name;
    count.set(best.name, count.get(best.name)! + 1);
  }
  return unschedulable;
}
