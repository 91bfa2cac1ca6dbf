/**
 * Capture and per-device trace as link wrappers (STYLE.md 4): they replace a device's
 * `queueXmit` (dev_queue_xmit_nit: what tcpdump sees leaving) and `netifReceive`
 * (__netif_receive_skb: what it sees arriving, before a bridge takes the frame), so the
 * datapath never asks whether anything is watching. What each device shows follows from
 * where those calls happen: a veth end sees a frame once per direction, a bridge port sees
 * bridged frames, the bridge device only what the host sends or receives through it, a vxlan
 * device the inner frames, a NIC the outer UDP.
 */
import type { CaptureSink } from '../pcap/capture.js';
import type { NetDevice } from './link/device.js';
import type { Netns } from './netns.js';
import { tracePacketId } from '../wire/packet-buffer.js';

/** The interface name a capture file shows: `node/netns/dev`. */
export function captureName(dev: NetDevice): string {
  return `${dev.netns.node}/${dev.netns.netns}/${dev.name}`;
}

/** Starts capturing `dev` into `sink`; answers a function that stops it. */
export function captureDevice(dev: NetDevice, sink: CaptureSink, name: string = captureName(dev)): () => void {
  const xmit = dev.queueXmit;
  const rcv = dev.netifReceive;
  // tcpdump opens the device in promiscuous mode (a bridge then passes up what it forwards).
  dev.promiscuity++;
  dev.queueXmit = (p) => {
    sink.frame(name, dev.netns.clock.now, p.buf.subarray(p.head, p.end), 'out', undefined, tracePacketId(p));
    xmit(p);
  };
  dev.netifReceive = (p) => {
    sink.frame(name, dev.netns.clock.now, p.buf.subarray(p.head, p.end), 'in', undefined, tracePacketId(p));
    rcv(p);
  };
  return () => {
    dev.queueXmit = xmit;
    dev.netifReceive = rcv;
    dev.promiscuity--;
  };
}

/** Captures every device of `ns` that `keep` accepts, now and as devices are added. */
export function captureNetns(ns: Netns, sink: CaptureSink, keep: (dev: NetDevice) => boolean = () => true): void {
  for (const d of ns.devicesInOrder()) if (keep(d)) captureDevice(d, sink);
  const prev = ns.onRegister;
  ns.onRegister = (d) => {
    prev?.(d);
    if (keep(d)) captureDevice(d, sink);
  };
}

/** Emits `linux.xmit` / `linux.rcv` trace events for every frame through `dev`. */
export function traceDevice(dev: NetDevice): void {
  const xmit = dev.queueXmit;
  const rcv = dev.netifReceive;
  const ns = dev.netns;
  dev.queueXmit = (p) => {
    ns.trace?.record({ kind: 'linux.xmit', time: ns.clock.now, node: ns.node, netns: ns.netns, dev: dev.name, step: 'dev_queue_xmit', len: p.end - p.head, packet: tracePacketId(p) });
    xmit(p);
  };
  dev.netifReceive = (p) => {
    ns.trace?.record({ kind: 'linux.rcv', time: ns.clock.now, node: ns.node, netns: ns.netns, dev: dev.name, step: 'netif_receive_skb', len: p.end - p.head, packet: tracePacketId(p) });
    rcv(p);
  };
}

/** Per-device `linux.xmit` / `linux.rcv` events for every device of `ns`, now and later. */
export function traceNetns(ns: Netns): void {
  for (const d of ns.devicesInOrder()) traceDevice(d);
  const prev = ns.onRegister;
  ns.onRegister = (d) => {
    prev?.(d);
    traceDevice(d);
  };
}
