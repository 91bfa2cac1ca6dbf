import { buildClusterState, type ClusterState } from '../k8s/controllers/cluster-state.js';
import { buildWorld } from '../k8s/cluster/build.js';
import type { World } from '../k8s/cluster/world.js';
import type { Scenario } from './load.js';
import { startWorkloads, type Workloads } from './workloads.js';

/** A scenario brought to life: the control plane's state and the programmed Linux world. */
export interface Runtime {
  readonly scenario: Scenario;
  readonly state: ClusterState;
  readonly world: World;
  readonly apps: Workloads;
}

export function startRuntime(scenario: Scenario): Runtime {
  const state = buildClusterState(scenario.cluster, scenario.manifests.map((m) => m.object));
  const world = buildWorld(state);
  const rt = { scenario, state, world, apps: { ingress: new Map(), loadBalancers: new Map(), dns: new Map() } } as Runtime;
  Object.assign(rt, { apps: startWorkloads(rt) });
  // Let the agents' work and the processes settle before anything is sent.
  world.run(1e6);
  return rt;
}
