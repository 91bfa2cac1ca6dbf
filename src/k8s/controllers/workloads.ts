import type { Random } from '../../sim/random.js';
import type { ObjectMeta, Pod } from '../api/types.js';
import type { DaemonSet, Deployment, PodTemplateSpec, ReplicaSet, StatefulSet } from '../api/workloads.js';
import { podTemplateHash, randomSuffix } from './names.js';

/** A pod the controllers made, before scheduling (nodeName may be unset) and IPAM. */
function podFromTemplate(t: PodTemplateSpec, meta: ObjectMeta, ownerKind: string, ownerName: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      ...meta,
      labels: { ...(t.metadata?.labels ?? {}), ...(meta.labels ?? {}) },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: ownerKind, name: ownerName, controller: true }],
    },
    spec: structuredClone(t.spec),
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

/**
 * Deployment -> ReplicaSet `name-<pod-template-hash>` -> pods `rs-name-<5 chars>`, as the
 * deployment and replicaset controllers name them; the pods carry the pod-template-hash label.
 */
export function expandDeployment(d: Deployment, rng: Random): { replicaSet: ReplicaSet; pods: Pod[] } {
  const hash = podTemplateHash(rng);
  const rsName = `${d.metadata.name}-${hash}`;
  const labels = { ...(d.spec.template.metadata?.labels ?? {}), 'pod-template-hash': hash };
  const replicaSet: ReplicaSet = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: rsName,
      namespace: d.metadata.namespace ?? 'default',
      labels,
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name, controller: true }],
    },
    spec: {
      ...(d.spec.replicas !== undefined ? { replicas: d.spec.replicas } : {}),
      selector: { ...d.spec.selector, matchLabels: { ...(d.spec.selector.matchLabels ?? {}), 'pod-template-hash': hash } },
      template: { ...d.spec.template, metadata: { ...(d.spec.template.metadata ?? {}), labels } },
    },
  };
  return { replicaSet, pods: expandReplicaSet(replicaSet, rng) };
}

export function expandReplicaSet(rs: ReplicaSet, rng: Random): Pod[] {
  const n = rs.spec.replicas ?? 1;
  const pods: Pod[] = [];
  const taken = new Set<string>();
  for (let i = 0; i < n; i++) {
    let name: string;
    do name = `${rs.metadata.name}-${randomSuffix(rng)}`;
    while (taken.has(name));
    taken.add(name);
    pods.push(podFromTemplate(rs.spec.template, { name, namespace: rs.metadata.namespace ?? 'default', generateName: `${rs.metadata.name}-` }, 'ReplicaSet', rs.metadata.name));
  }
  return pods;
}

/**
 * StatefulSet pods `name-0 .. name-(N-1)`; the controller sets hostname = pod name and
 * subdomain = serviceName, which is what gives them DNS records under a headless Service.
 */
export function expandStatefulSet(s: StatefulSet): Pod[] {
  const n = s.spec.replicas ?? 1;
  const pods: Pod[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${s.metadata.name}-${i}`;
    const p = podFromTemplate(s.spec.template, { name, namespace: s.metadata.namespace ?? 'default', labels: { 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': String(i) } }, 'StatefulSet', s.metadata.name);
    p.spec.hostname = name;
    if (s.spec.serviceName) p.spec.subdomain = s.spec.serviceName;
    pods.push(p);
  }
  return pods;
}

/** DaemonSet: one pod per eligible node, pinned to it (the controller sets node affinity). */
export function expandDaemonSet(ds: DaemonSet, nodes: readonly { name: string; labels: Record<string, string> }[], rng: Random): Pod[] {
  const sel = ds.spec.template.spec.nodeSelector ?? {};
  return nodes
    .filter((n) => Object.entries(sel).every(([k, v]) => n.labels[k] === v))
    .map((n) => {
      const p = podFromTemplate(ds.spec.template, { name: `${ds.metadata.name}-${randomSuffix(rng)}`, namespace: ds.metadata.namespace ?? 'default', generateName: `${ds.metadata.name}-` }, 'DaemonSet', ds.metadata.name);
      p.spec.nodeName = n.name;
      return p;
    });
}
