/**
 * The C source of the real-kernel sender, as reference/kernel-costs.md §2 describes pktgen_af:
 * an AF_PACKET socket with PACKET_QDISC_BYPASS writing Ethernet/IPv4/TCP SYN frames to one
 * Service in sendmmsg batches of 64, a new source port per packet (a new flow each time),
 * until the time is up. Checksums are computed per packet (conntrack verifies them). Compiled
 * with the system's cc at run time; written for this benchmark.
 */
export const SENDER_C = String.raw`
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FLEN 54

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static uint16_t csum(const uint8_t *p, int n, uint32_t s) {
  for (int i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return (uint16_t)~s;
}

static void mac(const char *s, uint8_t *o) {
  unsigned v[6];
  sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
  for (int i = 0; i < 6; i++) o[i] = (uint8_t)v[i];
}

int main(int argc, char **argv) {
  if (argc != 9) { fprintf(stderr, "usage: ifname dstmac srcmac srcip dstip dport seconds firstport\n"); return 2; }
  int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
  if (fd < 0) { perror("socket"); return 1; }
  int one = 1;
  setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
  struct sockaddr_ll sll = { 0 };
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = if_nametoindex(argv[1]);
  sll.sll_protocol = htons(ETH_P_IP);
  if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); return 1; }
  uint8_t f[BATCH][FLEN];
  uint32_t src = ntohl(inet_addr(argv[4])), dst = ntohl(inet_addr(argv[5]));
  int dport = atoi(argv[6]);
  double secs = atof(argv[7]);
  unsigned sp = (unsigned)atoi(argv[8]);
  for (int i = 0; i < BATCH; i++) {
    uint8_t *e = f[i];
    memset(e, 0, FLEN);
    mac(argv[2], e); mac(argv[3], e + 6); e[12] = 0x08; e[13] = 0;
    uint8_t *ip = e + 14;
    ip[0] = 0x45; ip[3] = 40; ip[6] = 0x40; ip[8] = 64; ip[9] = 6;
    for (int k = 0; k < 4; k++) { ip[12 + k] = src >> (24 - 8 * k); ip[16 + k] = dst >> (24 - 8 * k); }
    uint16_t c = csum(ip, 20, 0); ip[10] = c >> 8; ip[11] = c;
    uint8_t *t = ip + 20;
    t[2] = dport >> 8; t[3] = dport; t[7] = 1; t[12] = 0x50; t[13] = 0x02; t[14] = 0xfa; t[15] = 0xf0;
  }
  struct iovec iov[BATCH];
  struct mmsghdr mm[BATCH];
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < BATCH; i++) { iov[i].iov_base = f[i]; iov[i].iov_len = FLEN; mm[i].msg_hdr.msg_iov = &iov[i]; mm[i].msg_hdr.msg_iovlen = 1; }
  long sent = 0;
  double t0 = now(), tend = t0 + secs;
  while (now() < tend) {
    for (int i = 0; i < BATCH; i++) {
      uint8_t *ip = f[i] + 14, *t = ip + 20;
      unsigned port = 1024 + (sp++ % 64512);
      t[0] = port >> 8; t[1] = port; t[16] = 0; t[17] = 0;
      uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + 20;
      uint16_t c = csum(t, 20, s); t[16] = c >> 8; t[17] = c;
    }
    int r = sendmmsg(fd, mm, BATCH, 0);
    if (r > 0) sent += r;
  }
  printf("%ld %.6f\n", sent, now() - t0);
  return 0;
}
`;
