// sluice-pod sniff: raw IPv4 packets of one protocol received until a timeout or a count; a JSON line.
#include "pod.h"
#include <net/if.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

/* One received IPv4 packet as JSON: addresses, protocol, length, then what its L4 bytes hold. */
static void sniff_describe(struct buf *b, const uint8_t *p, size_t n) {
    char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
    uint32_t src, dst;
    memcpy(&src, p + 12, 4);
    memcpy(&dst, p + 16, 4);
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    const uint8_t *l4 = p + ihl;
    size_t l4len = n > ihl ? n - ihl : 0;
    int proto = p[9];
    buf_printf(b, "{\"src\":\"%s\",\"dst\":\"%s\",\"proto\":\"%s\",\"len\":%zu", ip4_str(src, s), ip4_str(dst, d),
               proto_name(proto) ? proto_name(proto) : "other", n);
    if (proto != IPPROTO_ICMP && l4len >= 4) buf_printf(b, ",\"sport\":%u,\"dport\":%u", get16(l4), get16(l4 + 2));
    if (proto == IPPROTO_TCP && l4len >= 14) {
        static const char FL[] = "FSRPAU";
        char fl[8];
        int k = 0;
        for (int i = 0; i < 6; i++)
            if (l4[13] & (1 << i)) fl[k++] = FL[i];
        fl[k] = 0;
        buf_printf(b, ",\"flags\":\"%s\"", fl);
    }
    if (proto == PROTO_SCTP && l4len >= 13) buf_printf(b, ",\"chunk\":%u", l4[12]);
    if (proto == IPPROTO_ICMP && l4len >= 2) {
        buf_printf(b, ",\"type\":%u,\"code\":%u", l4[0], l4[1]);
        /* An error: the tuple of the packet it is about. */
        if (icmp_is_error(l4[0]) && l4len >= 8 + 20 + 4) {
            const uint8_t *in = l4 + 8;
            memcpy(&src, in + 12, 4);
            memcpy(&dst, in + 16, 4);
            const uint8_t *il4 = in + (size_t)(in[0] & 0x0f) * 4;
            buf_printf(b, ",\"inner\":{\"src\":\"%s\",\"dst\":\"%s\",\"proto\":\"%s\"", ip4_str(src, s), ip4_str(dst, d),
                       proto_name(in[9]) ? proto_name(in[9]) : "other");
            if (in[9] != IPPROTO_ICMP && il4 + 4 <= l4 + l4len) buf_printf(b, ",\"sport\":%u,\"dport\":%u", get16(il4), get16(il4 + 2));
            buf_puts(b, "}");
        }
    }
    if ((int)l4len < proto_hdr(proto)) buf_puts(b, ",\"truncated\":true");
    buf_puts(b, "}");
}

int cmd_sniff(int argc, char **argv) {
    int proto = -1;
    long port = -1, timeout_ms = -1, count = 0;
    uint32_t from = 0;
    const char *link = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--proto")) proto = PROTOS[proto_index("sniff", a, opt_value(argc, argv, &i, "sniff", "tcp, udp, sctp or icmp"))].num;
        else if (!strcmp(a, "--port")) port = parse_long("sniff: --port", opt_value(argc, argv, &i, "sniff", "a port"), 0, 65535, "a port 0-65535");
        else if (!strcmp(a, "--from")) from = parse_ip4("sniff", a, opt_value(argc, argv, &i, "sniff", "an IPv4 address"));
        else if (!strcmp(a, "--timeout-ms")) timeout_ms = parse_long("sniff: --timeout-ms", opt_value(argc, argv, &i, "sniff", "milliseconds"), 1, 3600000, "a number of milliseconds 1-3600000");
        else if (!strcmp(a, "--count")) count = parse_long("sniff: --count", opt_value(argc, argv, &i, "sniff", "a count"), 1, 1000000, "a count 1-1000000");
        else if (!strcmp(a, "--link")) link = opt_value(argc, argv, &i, "sniff", "an interface name");
        else die_usage("sniff: unknown argument '%s' (expected --proto, --port, --from, --timeout-ms, --count or --link)", a);
    }
    if (proto < 0) die_usage("sniff: --proto: expected tcp, udp, sctp or icmp");
    if (timeout_ms < 0) die_usage("sniff: --timeout-ms: expected a number of milliseconds 1-3600000");
    if (port >= 0 && proto == IPPROTO_ICMP) die_usage("sniff: --port: expected no port with --proto icmp");
    /* A raw socket gets a copy of every packet of its protocol delivered to this host, before the
     * protocol's own handler (if there is one) sees it; fragments arrive reassembled. With --link,
     * a packet socket on that interface sees every IPv4 packet of the protocol it receives instead, also those the
     * host only forwards or that a tc program redirects elsewhere (it taps before tc). */
    int fd;
    if (link) {
        unsigned idx = if_nametoindex(link);
        if (!idx) die_usage("sniff: --link: expected an interface of this namespace, got '%s'", link);
        /* ETH_P_ALL: taps of one protocol only run after tc, which may have redirected the packet */
        fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
        struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx };
        if (fd >= 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) { close(fd); fd = -1; }
    } else {
        fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, proto);
    }
    if (fd < 0) { fprintf(stderr, "%s: sniff: %s socket: %s\n", g_prog, link ? "packet" : "raw", strerror(errno)); return 1; }
    fprintf(stderr, "%s: sniff: listening for %s\n", g_prog, proto_name(proto));
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
    uint8_t *p = xmalloc(MAX_PACKET);
    long seen = 0, matched = 0;
    while (!count || matched < count) {
        int r = wait_fd(fd, POLLIN, deadline);
        if (r < 0) { fprintf(stderr, "%s: sniff: poll: %s\n", g_prog, strerror(errno)); return 1; }
        if (r == 0) break;
        struct sockaddr_ll ll = {0};
        socklen_t lllen = sizeof(ll);
        ssize_t n = recvfrom(fd, p, MAX_PACKET, MSG_DONTWAIT, (struct sockaddr *)&ll, &lllen);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fprintf(stderr, "%s: sniff: recv: %s\n", g_prog, strerror(errno));
            return 1;
        }
        if (link && (ll.sll_pkttype == PACKET_OUTGOING || ll.sll_protocol != htons(ETH_P_IP))) continue;   /* received IPv4 */
        if (n < 20 || (size_t)n < (size_t)(p[0] & 0x0f) * 4) continue;
        if (link && p[9] != proto) continue;
        seen++;
        size_t ihl = (size_t)(p[0] & 0x0f) * 4;
        uint32_t src;
        memcpy(&src, p + 12, 4);
        if (from && src != from) continue;
        if (port >= 0 && ((size_t)n < ihl + 4 || get16(p + ihl + 2) != port)) continue;
        matched++;
        struct buf b = {0};
        sniff_describe(&b, p, (size_t)n);
        print_line(&b);
        free(b.p);
    }
    close(fd);
    struct buf b = {0};
    buf_printf(&b, "{\"matched\":%ld,\"seen\":%ld,\"ms\":%.1f}", matched, seen, (double)(now_ns() - t0) / 1e6);
    print_line(&b);
    return matched > 0 ? 0 : 1;
}
