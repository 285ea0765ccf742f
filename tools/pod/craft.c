// sluice-pod craft: raw IPv4 packets (TCP, UDP, SCTP, ICMP; fragments, bad checksums, VXLAN) for the
// security tests.
#include "pod.h"

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }

/* The Internet checksum (RFC 1071) of d, continuing sum. */
static uint32_t csum_add(uint32_t sum, const uint8_t *d, size_t n) {
    for (; n > 1; d += 2, n -= 2) sum += get16(d);
    if (n) sum += (uint32_t)d[0] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum) {
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* TCP and UDP checksum: the segment with the IPv4 pseudo-header. */
static uint16_t l4_csum(uint32_t src, uint32_t dst, int proto, const uint8_t *l4, size_t n) {
    uint8_t ph[12];
    memcpy(ph, &src, 4);
    memcpy(ph + 4, &dst, 4);
    ph[8] = 0;
    ph[9] = (uint8_t)proto;
    put16(ph + 10, (uint32_t)n);
    uint16_t c = csum_fold(csum_add(csum_add(0, ph, 12), l4, n));
    return proto == IPPROTO_UDP && c == 0 ? 0xffff : c;
}

/* CRC32c, SCTP's checksum (RFC 9260 appendix A), stored least significant byte first. */
static uint32_t crc32c(const uint8_t *d, size_t n) {
    uint32_t c = ~0u;
    for (size_t i = 0; i < n; i++) {
        c ^= d[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

/* Writes a 20-byte IPv4 header; frag is the flags and offset field (host order). */
static void put_ip4(uint8_t *p, uint32_t src, uint32_t dst, int proto, size_t total, uint16_t id, uint16_t frag, int ttl) {
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (uint32_t)total);
    put16(p + 4, id);
    put16(p + 6, frag);
    p[8] = (uint8_t)ttl;
    p[9] = (uint8_t)proto;
    memcpy(p + 12, &src, 4);
    memcpy(p + 16, &dst, 4);
    put16(p + 10, csum_fold(csum_add(0, p, 20)));
}

#define IP_DF 0x4000
#define IP_MF 0x2000

struct craft {
    uint32_t src, dst;
    int proto;
    int sport, dport;
    int tcp_flags;
    int icmp_type, icmp_code;
    uint32_t isrc, idst;          /* ICMP error: the embedded packet */
    int iproto, isport, idport;
    const char *text;
    long size;                    /* payload bytes (text, or a pattern of this size) */
    long id;                      /* IP id; 0 = random */
    int ttl, df, mf;
    long frag_off;                /* -1: the whole datagram; else this packet's fragment offset in bytes */
    long fragment;                /* > 0: split the datagram into fragments of this many bytes */
    long truncate;                /* >= 0: the L4 header cut to this many bytes */
    int bad_csum;
    long vni;                     /* >= 0: wrapped in VXLAN */
    uint32_t osrc, odst;
    int oport;
};

/* The L4 segment (header and payload) into out; returns its length. A non-first fragment alone
 * (--frag-offset > 0) carries the payload only. */
static size_t craft_l4(const struct craft *c, uint8_t *out) {
    uint8_t *pl;
    size_t hl;
    if (c->frag_off > 0) {
        hl = 0;
    } else if (c->proto == IPPROTO_TCP) {
        hl = 20;
    } else if (c->proto == IPPROTO_UDP) {
        hl = 8;
    } else if (c->proto == PROTO_SCTP) {
        hl = 12 + 20;             /* common header and an INIT chunk */
    } else {
        hl = icmp_is_error(c->icmp_type) ? 8 + 20 + 8 : 8;
    }
    memset(out, 0, hl);
    pl = out + hl;
    size_t n = (size_t)c->size;
    if (c->text) memcpy(pl, c->text, n);
    else echo_payload((char *)pl, n);
    size_t len = hl + n;
    if (hl == 0) return len;
    uint8_t *h = out;
    int csum_at = -1;
    if (c->proto == IPPROTO_TCP) {
        put16(h, (uint32_t)c->sport);
        put16(h + 2, (uint32_t)c->dport);
        put32(h + 4, (uint32_t)(now_ns() & 0xffffffffu));   /* sequence number */
        h[12] = 5 << 4;
        h[13] = (uint8_t)c->tcp_flags;
        put16(h + 14, 64240);
        put16(h + 16, l4_csum(c->src, c->dst, IPPROTO_TCP, out, len));
        csum_at = 16;
    } else if (c->proto == IPPROTO_UDP) {
        put16(h, (uint32_t)c->sport);
        put16(h + 2, (uint32_t)c->dport);
        put16(h + 4, (uint32_t)len);
        put16(h + 6, l4_csum(c->src, c->dst, IPPROTO_UDP, out, len));
        csum_at = 6;
    } else if (c->proto == PROTO_SCTP) {
        put16(h, (uint32_t)c->sport);
        put16(h + 2, (uint32_t)c->dport);   /* verification tag 0, as an INIT has */
        uint8_t *init = h + 12;
        init[0] = 1;                          /* INIT */
        put16(init + 2, 20);
        put32(init + 4, (uint32_t)(now_ns() | 1));   /* initiate tag, non-zero */
        put32(init + 8, 65536);               /* a_rwnd */
        put16(init + 12, 1);                  /* outbound streams */
        put16(init + 14, 1);                  /* inbound streams */
        put32(init + 16, 1);                  /* initial TSN */
        uint32_t crc = crc32c(out, len);
        h[8] = (uint8_t)crc;
        h[9] = (uint8_t)(crc >> 8);
        h[10] = (uint8_t)(crc >> 16);
        h[11] = (uint8_t)(crc >> 24);
        csum_at = 8;
    } else {
        h[0] = (uint8_t)c->icmp_type;
        h[1] = (uint8_t)c->icmp_code;
        if (icmp_is_error(c->icmp_type)) {
            /* The packet the error is about: its IPv4 header and the first 8 bytes of its L4 header. */
            uint8_t *in = h + 8, *il4 = in + 20;
            put_ip4(in, c->isrc, c->idst, c->iproto, 20 + 8, 1, 0, 64);
            if (c->iproto == IPPROTO_ICMP) {
                il4[0] = 8;                   /* an echo request, identifier isport */
                put16(il4 + 4, (uint32_t)c->isport);
                put16(il4 + 2, csum_fold(csum_add(0, il4, 8)));
            } else {
                put16(il4, (uint32_t)c->isport);
                put16(il4 + 2, (uint32_t)c->idport);
                if (c->iproto == IPPROTO_UDP) put16(il4 + 4, 8);
            }
        } else {
            put16(h + 4, (uint32_t)c->sport);   /* echo identifier */
            put16(h + 6, 1);                    /* sequence */
        }
        put16(h + 2, csum_fold(csum_add(0, out, len)));
        csum_at = 2;
    }
    if (c->bad_csum) h[csum_at] ^= 0xff;
    return c->truncate >= 0 ? (size_t)c->truncate : len;
}

/* Wraps the inner IPv4 packet in Ethernet, VXLAN, UDP and IPv4 (from osrc to odst:oport). */
static size_t vxlan_wrap(const struct craft *c, const uint8_t *inner, size_t n, uint8_t *out) {
    static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01};
    uint8_t *udp = out + 20, *vx = udp + 8, *eth = vx + 8;
    memcpy(eth, macs, 12);
    put16(eth + 12, 0x0800);
    memcpy(eth + 14, inner, n);
    memset(vx, 0, 8);
    vx[0] = 0x08;                             /* the VNI is valid */
    put32(vx + 4, (uint32_t)c->vni << 8);
    size_t ulen = 8 + 8 + 14 + n;
    put16(udp, 49152 + (uint32_t)(c->vni % 16384));
    put16(udp + 2, (uint32_t)c->oport);
    put16(udp + 4, (uint32_t)ulen);
    put16(udp + 6, 0);
    put16(udp + 6, l4_csum(c->osrc, c->odst, IPPROTO_UDP, udp, ulen));
    put_ip4(out, c->osrc, c->odst, IPPROTO_UDP, 20 + ulen, (uint16_t)(now_ns() | 1), 0, 64);
    return 20 + ulen;
}

/* The address this host would send from to dst (a UDP socket's choice after connect). */
static uint32_t route_source(uint32_t dst) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = dst};
    socklen_t sl = sizeof(sa);
    char ip[INET_ADDRSTRLEN];
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        fprintf(stderr, "%s: craft: no route to %s: %s\n", g_prog, ip4_str(dst, ip), strerror(errno));
        exit(1);
    }
    close(fd);
    return sa.sin_addr.s_addr;
}

static void craft_usage_check(struct craft *c, int have_dst, int have_src, long count) {
    const char *pn = proto_name(c->proto);
    if (!have_dst) die_usage("craft: --dst: expected an IPv4 address");
    if (c->proto < 0) die_usage("craft: --proto: expected tcp, udp, sctp or icmp");
    int ported = c->proto != IPPROTO_ICMP;
    if (ported && (c->dport < 0)) die_usage("craft: --dport: expected a port 0-65535 with --proto %s", pn);
    if (!ported && c->dport >= 0) die_usage("craft: --dport: expected no port with --proto icmp (--sport is the echo identifier)");
    if (c->tcp_flags >= 0 && c->proto != IPPROTO_TCP) die_usage("craft: --flags: expected only with --proto tcp");
    if (c->tcp_flags < 0) c->tcp_flags = 0x02;   /* SYN */
    if (c->icmp_type >= 0 && c->proto != IPPROTO_ICMP) die_usage("craft: --icmp-type: expected only with --proto icmp");
    if (c->icmp_type < 0) c->icmp_type = 8;      /* echo request */
    if (c->icmp_code < 0) c->icmp_code = 0;
    int err = c->proto == IPPROTO_ICMP && icmp_is_error(c->icmp_type);
    if (err && (!c->isrc || !c->idst || c->iproto < 0))
        die_usage("craft: --icmp-type %d is an error: expected --inner-src, --inner-dst and --inner-proto (the packet it is about)", c->icmp_type);
    if (!err && (c->isrc || c->idst || c->iproto >= 0))
        die_usage("craft: --inner-*: expected only with an ICMP error (--icmp-type 3, 4, 5, 11 or 12)");
    if (err && c->iproto == PROTO_SCTP) die_usage("craft: --inner-proto: expected tcp, udp or icmp");
    if (c->sport < 0) c->sport = 40000 + (int)(now_ns() % 20000);
    if (c->isport < 0) c->isport = 0;
    if (c->idport < 0) c->idport = 0;
    if (c->proto == PROTO_SCTP && (c->text || c->size))
        die_usage("craft: --payload/--size: expected none with --proto sctp (the packet is an INIT chunk)");
    if (err && (c->text || c->size)) die_usage("craft: --payload/--size: expected none with an ICMP error");
    if (c->frag_off >= 0 && c->fragment > 0) die_usage("craft: --frag-offset and --fragment: expected one of them");
    if (c->frag_off >= 0 && c->frag_off % 8) die_usage("craft: --frag-offset: expected a multiple of 8, got %ld", c->frag_off);
    if (c->mf && c->frag_off < 0) die_usage("craft: --mf: expected with --frag-offset");
    if (c->frag_off > 0 && c->size == 0) die_usage("craft: --frag-offset %ld: expected --payload or --size (a non-first fragment carries payload only)", c->frag_off);
    if (c->fragment > 0 && (c->fragment % 8)) die_usage("craft: --fragment: expected a multiple of 8, got %ld", c->fragment);
    if (c->df && (c->fragment > 0 || c->mf || c->frag_off > 0)) die_usage("craft: --df: expected no fragmentation options");
    if (c->truncate >= 0) {
        int hdr = proto_hdr(c->proto);
        if (c->truncate >= hdr) die_usage("craft: --truncate: expected fewer bytes than the %s header's %d, got %ld", pn, hdr, c->truncate);
        if (c->text || c->size) die_usage("craft: --truncate: expected no payload (the packet ends inside the L4 header)");
        if (c->frag_off > 0 || c->fragment > 0) die_usage("craft: --truncate: expected no fragmentation options");
    }
    if (c->vni >= 0 && !have_src) die_usage("craft: --vxlan: expected --src (the inner source is not routed from here)");
    if (c->vni < 0 && (c->osrc || c->odst || c->oport != 8472)) die_usage("craft: --outer-*: expected with --vxlan");
    if (c->vni >= 0 && !c->odst) die_usage("craft: --vxlan: expected --outer-dst (the node to send the VXLAN packet to)");
    if (count < 1) die_usage("craft: --count: expected 1 or more");
}

int cmd_craft(int argc, char **argv) {
    struct craft c = {.proto = -1, .sport = -1, .dport = -1, .tcp_flags = -1, .icmp_type = -1, .icmp_code = -1, .iproto = -1,
                      .isport = -1, .idport = -1, .ttl = 64, .frag_off = -1, .truncate = -1, .vni = -1, .oport = 8472};
    int have_src = 0, have_dst = 0;
    long count = 1, interval_ms = 100;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--src")) { c.src = parse_ip4("craft", a, opt_value(argc, argv, &i, "craft", "an IPv4 address")); have_src = 1; }
        else if (!strcmp(a, "--dst")) { c.dst = parse_ip4("craft", a, opt_value(argc, argv, &i, "craft", "an IPv4 address")); have_dst = 1; }
        else if (!strcmp(a, "--proto")) c.proto = PROTOS[proto_index("craft", a, opt_value(argc, argv, &i, "craft", "tcp, udp, sctp or icmp"))].num;
        else if (!strcmp(a, "--sport")) c.sport = (int)parse_long("craft: --sport", opt_value(argc, argv, &i, "craft", "a port"), 0, 65535, "a port 0-65535");
        else if (!strcmp(a, "--dport")) c.dport = (int)parse_long("craft: --dport", opt_value(argc, argv, &i, "craft", "a port"), 0, 65535, "a port 0-65535");
        else if (!strcmp(a, "--flags")) {
            const char *v = opt_value(argc, argv, &i, "craft", "TCP flags out of FSRPAU");
            static const char FL[] = "FSRPAU";
            c.tcp_flags = 0;
            for (const char *f = v; *f; f++) {
                const char *at = strchr(FL, toupper((unsigned char)*f));
                if (!at) die_usage("craft: --flags: expected letters out of FSRPAU (FIN SYN RST PSH ACK URG), got '%s'", v);
                c.tcp_flags |= 1 << (at - FL);
            }
        }
        else if (!strcmp(a, "--icmp-type")) c.icmp_type = (int)parse_long("craft: --icmp-type", opt_value(argc, argv, &i, "craft", "an ICMP type"), 0, 255, "an ICMP type 0-255");
        else if (!strcmp(a, "--icmp-code")) c.icmp_code = (int)parse_long("craft: --icmp-code", opt_value(argc, argv, &i, "craft", "an ICMP code"), 0, 255, "an ICMP code 0-255");
        else if (!strcmp(a, "--inner-src")) c.isrc = parse_ip4("craft", a, opt_value(argc, argv, &i, "craft", "an IPv4 address"));
        else if (!strcmp(a, "--inner-dst")) c.idst = parse_ip4("craft", a, opt_value(argc, argv, &i, "craft", "an IPv4 address"));
        else if (!strcmp(a, "--inner-proto")) c.iproto = PROTOS[proto_index("craft", a, opt_value(argc, argv, &i, "craft", "tcp, udp or icmp"))].num;
        else if (!strcmp(a, "--inner-sport")) c.isport = (int)parse_long("craft: --inner-sport", opt_value(argc, argv, &i, "craft", "a port"), 0, 65535, "a port 0-65535");
        else if (!strcmp(a, "--inner-dport")) c.idport = (int)parse_long("craft: --inner-dport", opt_value(argc, argv, &i, "craft", "a port"), 0, 65535, "a port 0-65535");
        else if (!strcmp(a, "--payload")) { c.text = opt_value(argc, argv, &i, "craft", "a text"); c.size = (long)strlen(c.text); }
        else if (!strcmp(a, "--size")) { c.size = parse_long("craft: --size", opt_value(argc, argv, &i, "craft", "a size"), 0, 65000, "a payload size in bytes 0-65000"); c.text = NULL; }
        else if (!strcmp(a, "--id")) c.id = parse_long("craft: --id", opt_value(argc, argv, &i, "craft", "an IP id"), 1, 65535, "an IP id 1-65535");
        else if (!strcmp(a, "--ttl")) c.ttl = (int)parse_long("craft: --ttl", opt_value(argc, argv, &i, "craft", "a TTL"), 1, 255, "a TTL 1-255");
        else if (!strcmp(a, "--df")) c.df = 1;
        else if (!strcmp(a, "--mf")) c.mf = 1;
        else if (!strcmp(a, "--frag-offset")) c.frag_off = parse_long("craft: --frag-offset", opt_value(argc, argv, &i, "craft", "an offset"), 0, 65528, "an offset in bytes 0-65528");
        else if (!strcmp(a, "--fragment")) c.fragment = parse_long("craft: --fragment", opt_value(argc, argv, &i, "craft", "a size"), 8, 65528, "a fragment size in bytes 8-65528");
        else if (!strcmp(a, "--truncate")) c.truncate = parse_long("craft: --truncate", opt_value(argc, argv, &i, "craft", "a length"), 0, 65535, "a length in bytes");
        else if (!strcmp(a, "--bad-checksum")) c.bad_csum = 1;
        else if (!strcmp(a, "--vxlan")) c.vni = parse_long("craft: --vxlan", opt_value(argc, argv, &i, "craft", "a VNI"), 0, 16777215, "a VNI 0-16777215");
        else if (!strcmp(a, "--outer-src")) c.osrc = parse_ip4("craft", a, opt_value(argc, argv, &i, "craft", "an IPv4 address"));
        else if (!strcmp(a, "--outer-dst")) c.odst = parse_ip4("craft", a, opt_value(argc, argv, &i, "craft", "an IPv4 address"));
        else if (!strcmp(a, "--outer-port")) c.oport = (int)parse_long("craft: --outer-port", opt_value(argc, argv, &i, "craft", "a port"), 1, 65535, "a port 1-65535");
        else if (!strcmp(a, "--count")) count = parse_long("craft: --count", opt_value(argc, argv, &i, "craft", "a count"), 1, 1000000, "a count 1-1000000");
        else if (!strcmp(a, "--interval-ms")) interval_ms = parse_long("craft: --interval-ms", opt_value(argc, argv, &i, "craft", "milliseconds"), 0, 3600000, "a number of milliseconds 0-3600000");
        else die_usage("craft: unknown argument '%s' (see sluice-pod --help)", a);
    }
    craft_usage_check(&c, have_dst, have_src, count);
    if (!have_src) c.src = route_source(c.dst);
    if (c.vni >= 0 && !c.osrc) c.osrc = route_source(c.odst);

    uint8_t *seg = xmalloc(MAX_PACKET), *pkt = xmalloc(MAX_PACKET), *wire = xmalloc(MAX_PACKET);
    size_t seglen = craft_l4(&c, seg);
    size_t piece = c.fragment > 0 ? (size_t)c.fragment : seglen;   /* bytes of the segment per packet */
    if (piece == 0) piece = 1;
    size_t overhead = 20 + (c.vni >= 0 ? 20 + 8 + 8 + 14 : 0);
    if ((seglen < piece ? seglen : piece) + overhead > MAX_PACKET) die_usage("craft: the packet exceeds %d bytes", MAX_PACKET);
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);   /* IPPROTO_RAW: we write the IPv4 header */
    if (fd < 0) { fprintf(stderr, "%s: craft: raw socket: %s\n", g_prog, strerror(errno)); return 1; }
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = c.vni >= 0 ? c.odst : c.dst};
    uint16_t base_id = c.id ? (uint16_t)c.id : (uint16_t)((now_ns() ^ (uint64_t)getpid()) | 1);
    uint64_t packets = 0, bytes = 0;
    for (long r = 0; r < count; r++) {
        if (r > 0 && interval_ms > 0) pause_ms((int)interval_ms);
        uint16_t id = c.id ? (uint16_t)c.id : (uint16_t)(base_id + r);   /* each datagram its own id */
        size_t off = 0;
        do {
            size_t n = seglen - off < piece ? seglen - off : piece;
            size_t at = c.frag_off >= 0 ? (size_t)c.frag_off : off;
            int more = c.frag_off >= 0 ? c.mf : off + n < seglen;
            uint16_t frag = (uint16_t)((c.df ? IP_DF : 0) | (more ? IP_MF : 0) | (at / 8));
            put_ip4(pkt, c.src, c.dst, c.proto, 20 + n, id, frag, c.ttl);
            memcpy(pkt + 20, seg + off, n);
            size_t len = 20 + n;
            const uint8_t *out = pkt;
            if (c.vni >= 0) {
                len = vxlan_wrap(&c, pkt, len, wire);
                out = wire;
            }
            if (sendto(fd, out, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
                fprintf(stderr, "%s: craft: send of %zu bytes: %s\n", g_prog, len, strerror(errno));
                return 1;
            }
            packets++;
            bytes += len;
            off += n;
        } while (off < seglen);
    }
    close(fd);
    char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
    struct buf b = {0};
    buf_printf(&b, "{\"src\":\"%s\",\"dst\":\"%s\",\"proto\":\"%s\",\"datagrams\":%ld,\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
               ip4_str(c.src, s), ip4_str(c.dst, d), proto_name(c.proto), count, packets, bytes);
    print_line(&b);
    return 0;
}
