// The processes a scenario runs, as small echo servers in the real namespaces: every port
// the model's workloads listen on (scenario/workloads.ts) answers with the same text, so the
// bytes on the wire compare.
import type { Runtime } from '../scenario/runtime.js';
import { realNs } from './plan.js';

export interface Listener {
  readonly ns: string;
  readonly proto: 'TCP' | 'UDP';
  readonly port: number;
  readonly who: string;
}

/** What scenario/workloads.ts starts, by real namespace. */
export function listenersOf(rt: Runtime, prefix: string): Listener[] {
  const out: Listener[] = [];
  const seen = new Set<string>();
  const add = (ns: string, proto: string, port: number, who: string): void => {
    if (proto !== 'TCP' && proto !== 'UDP') return;
    const key = `${ns}/${proto}/${port}`;
    // A second bind of one port fails in the model too (EADDRINUSE): the first one answers.
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ ns, proto, port, who });
  };
  for (const p of rt.world.pods.values()) {
    const who = `${p.pod.metadata.namespace}/${p.pod.metadata.name} ${p.pod.status?.podIP ?? ''}`;
    for (const c of p.pod.spec.containers) {
      for (const port of c.ports ?? []) {
        if (p.pod.spec.hostNetwork && rt.world.machines.get(p.node.name)?.sockets !== p.sockets) continue;
        add(realNs(prefix, p.netns.node, p.netns.netns), port.protocol ?? 'TCP', port.containerPort, who);
      }
    }
  }
  const spec = rt.state.cluster.spec;
  const ports = (v: number | number[] | undefined): number[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  for (const m of [...spec.nodes, ...spec.externalHosts]) {
    if (!m.serve || !rt.world.machines.has(m.name)) continue;
    const ns = realNs(prefix, m.name, 'root');
    for (const port of [...ports(m.serve.http), ...ports(m.serve.tcp)]) add(ns, 'TCP', port, `${m.name} ${m.ip}`);
    for (const port of ports(m.serve.udp)) add(ns, 'UDP', port, `${m.name} ${m.ip}`);
  }
  return out;
}

/**
 * One python3 process per namespace serving all its ports. TCP: read the request, answer,
 * then close our side (write + end, as the model's listener does) and wait for the peer's
 * FIN; UDP: answer each datagram from the bound socket. Arguments: WHO PROTO/PORT...
 */
export const ECHO_SERVER = String.raw`
import socket, sys, threading
who = (sys.argv[1] + "\n").encode()
def serve(c):
    try:
        if c.recv(65536):
            c.sendall(who)
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
    except OSError:
        pass
    finally:
        c.close()
def tcp(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()
def udp(s):
    while True:
        d, a = s.recvfrom(65536)
        s.sendto(who, a)
for spec in sys.argv[2:]:
    proto, port = spec.split("/")
    try:
        if proto == "TCP":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("0.0.0.0", int(port)))
            s.listen(128)
            threading.Thread(target=tcp, args=(s,), daemon=True).start()
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("0.0.0.0", int(port)))
            threading.Thread(target=udp, args=(s,), daemon=True).start()
    except OSError as e:
        print(f"{proto}/{port}: {e}", file=sys.stderr, flush=True)
print("ready", flush=True)
threading.Event().wait()
`;

/**
 * The client of one exchange, as runExchange does it: TCP connects, writes one line, reads
 * to EOF and closes; UDP sends one datagram and waits for one answer. Prints the answer, or
 * the errno name on failure (exit 1). Arguments: PROTO IP PORT TEXT TIMEOUT_S
 */
export const CLIENT = String.raw`
import errno, socket, sys
proto, ip, port, text, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].encode(), float(sys.argv[5])
try:
    if proto == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((ip, port))
        s.sendall(text)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        sys.stdout.write(got.decode())
        sys.exit(0 if got else 1)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.connect((ip, port))
        s.send(text)
        sys.stdout.write(s.recv(65536).decode())
except socket.timeout:
    print("timed out", file=sys.stderr)
    sys.exit(1)
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e)), file=sys.stderr)
    sys.exit(1)
`;
