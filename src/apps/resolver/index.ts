// The stub resolver's public surface.
export { parseResolvConf, defaultResolvConf, type ResolvConf, type Libc } from './resolvconf.js';
export { planSearch, type SearchStep, type Family } from './plan.js';
export { StubResolver, type LookupResult, type LookupStatus, type ResolverEvent } from './stub.js';
export { podDnsConfig, renderResolvConf, type PodDnsConfig, type KubeletDnsSettings } from './pod-dns.js';
