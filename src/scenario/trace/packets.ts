import type { Step } from './exchange.js';

/**
 * Which packet each step of an exchange belongs to, numbered 1, 2, ... by first appearance
 * (the model's raw numbers are unique per process, not per run). Frames and the Linux
 * model's decisions name their packet; netfilter's and IPVS's get it from the hook that ran
 * them. What names none (socket, TCP, application events) belongs to the packet being
 * handled in that namespace at that instant (the SYN-ACK that moved a socket to ESTABLISHED,
 * the request an ingress proxied), else to the next packet that namespace handles (a
 * connect's state change before its SYN, a timer's retransmission); 0 when none (a socket
 * giving up after its last retransmission).
 */
export function packetOfSteps(steps: readonly Step[]): number[] {
  const raw = steps.map(rawPacket);
  const place = steps.map((s) => (s.type === 'frame' ? `${s.node}/${s.netns}` : `${s.event.node}/${s.event.netns}`));
  const time = steps.map((s) => (s.type === 'frame' ? s.time : s.event.time));
  // The packet each namespace handles next, from every step on (one pass from the end).
  const next = new Array<number>(steps.length).fill(0);
  const ahead = new Map<string, number>();
  for (let i = steps.length - 1; i >= 0; i--) {
    next[i] = ahead.get(place[i]!) ?? 0;
    if (raw[i] !== 0) ahead.set(place[i]!, raw[i]!);
  }
  const out = raw.slice();
  const last = new Map<string, number>();
  for (let i = 0; i < steps.length; i++) {
    if (raw[i] !== 0) {
      last.set(place[i]!, i);
      continue;
    }
    const prev = last.get(place[i]!);
    out[i] = prev !== undefined && time[prev] === time[i] ? raw[prev]! : next[i]!;
  }
  const renumber = new Map<number, number>();
  return out.map((n) => {
    if (n === 0) return 0;
    let k = renumber.get(n);
    if (k === undefined) renumber.set(n, (k = renumber.size + 1));
    return k;
  });
}

function rawPacket(s: Step): number {
  return (s.type === 'frame' ? s.packet : s.event.packet) ?? 0;
}
