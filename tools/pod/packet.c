// IPv4 packet helpers shared by craft (which writes packets) and sniff (which reads them).
#include "pod.h"

const struct proto PROTOS[] = {
    {"tcp", IPPROTO_TCP, 20}, {"udp", IPPROTO_UDP, 8}, {"sctp", PROTO_SCTP, 12}, {"icmp", IPPROTO_ICMP, 8},
};
#define NPROTOS (sizeof(PROTOS) / sizeof(PROTOS[0]))

int proto_index(const char *cmd, const char *opt, const char *s) {
    for (size_t i = 0; i < NPROTOS; i++)
        if (!strcmp(s, PROTOS[i].name)) return (int)i;
    die_usage("%s: %s: expected tcp, udp, sctp or icmp, got '%s'", cmd, opt, s);
}

const char *proto_name(int num) {
    for (size_t i = 0; i < NPROTOS; i++)
        if (PROTOS[i].num == num) return PROTOS[i].name;
    return NULL;
}

/* The minimal L4 header length of a protocol (0 when unknown). */
int proto_hdr(int num) {
    for (size_t i = 0; i < NPROTOS; i++)
        if (PROTOS[i].num == num) return PROTOS[i].hdr;
    return 0;
}

uint32_t parse_ip4(const char *cmd, const char *opt, const char *s) {
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) die_usage("%s: %s: expected an IPv4 address, got '%s'", cmd, opt, s);
    return a.s_addr;
}

const char *ip4_str(uint32_t a, char buf[INET_ADDRSTRLEN]) {
    struct in_addr in = {.s_addr = a};
    return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

int icmp_is_error(int type) { return type == 3 || type == 4 || type == 5 || type == 11 || type == 12; }
