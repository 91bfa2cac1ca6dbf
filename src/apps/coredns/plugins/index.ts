import type { PluginDef } from '../plugin.js';
import { bufsizePlugin } from './bufsize/setup.js';
import { cachePlugin } from './cache/setup.js';
import { errorsPlugin } from './errors/setup.js';
import { filePlugin } from './file/setup.js';
import { forwardPlugin } from './forward/setup.js';
import { healthPlugin } from './health/setup.js';
import { hostsPlugin } from './hosts/setup.js';
import { kubernetesPlugin } from './kubernetes/setup.js';
import { loadbalancePlugin } from './loadbalance/setup.js';
import { logPlugin } from './log/setup.js';
import { loopPlugin } from './loop/setup.js';
import { prometheusPlugin } from './prometheus/setup.js';
import { readyPlugin } from './ready/setup.js';
import { reloadPlugin } from './reload/setup.js';
import { rewritePlugin } from './rewrite/setup.js';
import { whoamiPlugin } from './whoami/setup.js';

/** The plugins kubewire implements, by directive name. Order comes from PLUGIN_CFG only. */
export const PLUGINS: ReadonlyMap<string, PluginDef> = new Map(
  [
    bufsizePlugin,
    cachePlugin,
    errorsPlugin,
    filePlugin,
    forwardPlugin,
    healthPlugin,
    hostsPlugin,
    kubernetesPlugin,
    loadbalancePlugin,
    logPlugin,
    loopPlugin,
    prometheusPlugin,
    readyPlugin,
    reloadPlugin,
    rewritePlugin,
    whoamiPlugin,
  ].map((p) => [p.name, p]),
);
