// The CoreDNS model's public surface, for the scenario loader and the CLI.
export { CoreDns, KUBEADM_COREFILE, BUILTIN_COREFILE, COREDNS_VERSION, type ZoneConfig, type LoadOptions } from './server.js';
export { CorefileError } from './corefile/errors.js';
export { PLUGIN_CFG } from './plugin-cfg.js';
export type { CoreDnsEnv, Handler, RequestContext, ResponseWriter, HttpReply } from './plugin.js';
export { formatDnsEvent, type DnsTraceEvent, type DnsPluginEvent, type DnsServerEvent } from './trace.js';
export type { DnsNet, DatagramSocket, StreamSocket, Endpoint } from './transport.js';
export { KubeStore } from './plugins/kubernetes/store.js';
export { Registry } from './plugins/prometheus/registry.js';
export { decodeMsg, encodeMsg, newQuery, type Msg, type RR } from './dns/message.js';
