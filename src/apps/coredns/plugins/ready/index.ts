import type { HttpReply } from '../../plugin.js';

/**
 * ready has no DNS handler: its `/ready` answer is 200 `OK` when every readiness plugin is
 * ready, else 503 and the waiting ones, sorted and comma separated (plugin/ready/ready.go).
 */
export function readyReply(notReady: readonly string[]): HttpReply {
  if (notReady.length === 0) return { status: 200, body: 'OK' };
  return { status: 503, body: [...notReady].sort().join(',') };
}
