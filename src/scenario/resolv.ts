import { formatResolvConf, parseResolvConf, podResolvConf } from '../k8s/kubelet/resolv-conf.js';
import type { Place } from './endpoints.js';
import type { Runtime } from './runtime.js';
import { nodeResolvConf } from './workloads.js';

/** /etc/resolv.conf as the program at `p` reads it: kubelet's file in a pod, the machine's otherwise. */
export function resolvConfOf(rt: Runtime, p: Place): string {
  const machineFile = nodeResolvConf(rt, p.machine.name);
  if (!p.pod) return machineFile;
  const spec = rt.state.cluster.spec;
  const rc = podResolvConf(p.pod.pod, spec.clusterDNS, spec.clusterDomain, parseResolvConf(machineFile));
  return formatResolvConf(rc, spec.containerRuntime);
}
