/**
 * reload has no DNS handler. Real CoreDNS hashes the Corefile every interval (plus jitter)
 * and restarts gracefully on change; a kubewire run never changes its Corefile, so the
 * settings are only validated (plugin/reload/setup.go).
 */
export interface ReloadSettings {
  readonly intervalSec: number;
  readonly jitterSec: number;
}

export const RELOAD_DEFAULTS: ReloadSettings = { intervalSec: 30, jitterSec: 15 };
