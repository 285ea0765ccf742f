// sluice-pod: the lab's pod server and its probe/benchmark client, one file per subcommand
// (serve.c, probe.c, http.c, bench.c, hold.c, craft.c, sniff.c; main.c dispatches):
//
//   sluice-pod serve --name NS/POD [--tcp P1,P2,...] [--udp P1,P2,...]
//   sluice-pod probe [--timeout-ms N] [--proto tcp|udp] [--size BYTES] TARGET...
//   sluice-pod http --to IP:PORT [--path P] [--host H] [--method M] [--timeout-ms N]
//   sluice-pod bench --mode rr|crr|stream --proto tcp|udp --to IP:PORT --seconds S
//                    [--size BYTES] [--conns C]
//   sluice-pod hold --to IP:PORT --seconds S [--interval-ms I]
//   sluice-pod craft --dst IP --proto tcp|udp|sctp|icmp [options]    (raw IPv4 packets, see usage)
//   sluice-pod sniff --proto tcp|udp|sctp|icmp --timeout-ms T [--port N] [--from IP] [--count N]
//
// Static, no external libraries; buffers, JSON, sockets and argument parsing come from tools/lib/,
// shared with the CNI plugin. IPv4 only.
#ifndef SLUICE_POD_H
#define SLUICE_POD_H
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "lib/args.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/net.h"

int cmd_serve(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_http(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_craft(int argc, char **argv);
int cmd_sniff(int argc, char **argv);

/* probe.c: the payload probes send (and bench, craft check), and an HTTP/1.x response parser:
 * 1 complete (status, body set), 0 more bytes needed, -1 malformed. */
void echo_payload(char *d, size_t n);
int http_parse_complete(const char *d, size_t n, int eof, int *status, const char **body, size_t *blen);

/* packet.c: what craft writes and sniff reads. SCTP by number: the kernel may have no stack for it. */
#define PROTO_SCTP 132
#define MAX_PACKET 65535
struct proto {
    const char *name;
    int num;
    int hdr; /* the minimal L4 header length */
};
extern const struct proto PROTOS[];
int proto_index(const char *cmd, const char *opt, const char *s);
const char *proto_name(int num);
int proto_hdr(int num);
uint32_t parse_ip4(const char *cmd, const char *opt, const char *s);
const char *ip4_str(uint32_t a, char buf[INET_ADDRSTRLEN]);
uint16_t get16(const uint8_t *p);
int icmp_is_error(int type);

#endif
