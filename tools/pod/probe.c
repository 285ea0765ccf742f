// sluice-pod probe: TCP or UDP reachability of many targets at once; one JSON line per target.
#include "pod.h"

struct probe {
    const char *target;
    struct sockaddr_in sa;
    int fd;
    int done;
    int ok;
    char err[128];
    char *pod, *client;
    double ms;
    struct buf resp;
    int sent;
    int intact;     /* --size: the echo equals what was sent */
    char peer[64];  /* the peer the socket reports: getpeername (TCP), the answer's source (UDP) */
};

/* "a.b.c.d:port" of an IPv4 address, or of an IPv6 socket's IPv4-mapped one (--v4mapped). */
static void addr_text(const struct sockaddr_storage *ss, char *out, size_t n) {
    char ip[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], ip, sizeof(ip));
        else inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        port = ntohs(s6->sin6_port);
    } else {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
        port = ntohs(s4->sin_port);
    }
    snprintf(out, n, "%s:%u", ip, port);
}

/* The target as the socket names it: IPv4, or ::ffff:a.b.c.d on an IPv6 socket. */
static socklen_t target_addr(const struct sockaddr_in *sa, int v4mapped, struct sockaddr_storage *out) {
    memset(out, 0, sizeof(*out));
    if (!v4mapped) {
        memcpy(out, sa, sizeof(*sa));
        return sizeof(*sa);
    }
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = sa->sin_port;
    s6->sin6_addr.s6_addr[10] = 0xff;
    s6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6->sin6_addr.s6_addr[12], &sa->sin_addr, 4);
    return sizeof(*s6);
}

/* The payload of a sized UDP probe: "ECHO" (so the server echoes it) and a byte pattern in which a
 * rewritten or shifted byte shows. */
void echo_payload(char *d, size_t n) {
    memcpy(d, "ECHO", n < 4 ? n : 4);
    for (size_t i = 4; i < n; i++) d[i] = (char)((i * 31 + 7) & 0xff);
}

static void probe_fail(struct probe *p, const char *err) {
    p->done = 1;
    p->ok = 0;
    snprintf(p->err, sizeof(p->err), "%s", err);
}

/* Parses an HTTP response; returns 1 when complete (result set), 0 when more is needed. */
int http_parse_complete(const char *d, size_t n, int eof, int *status, const char **body, size_t *blen) {
    const char *he = memmem(d, n, "\r\n\r\n", 4);
    if (!he) return eof ? -1 : 0;
    if (n < 12 || memcmp(d, "HTTP/1.", 7) != 0) return -1;
    *status = atoi(d + 9);
    const char *b = he + 4;
    size_t have = (size_t)(d + n - b);
    long long clen = -1;
    const char *p = d;
    while (p < he) {
        const char *nl = memmem(p, (size_t)(he + 2 - p), "\r\n", 2);
        if (!nl) break;
        if ((size_t)(nl - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) clen = atoll(p + 15);
        p = nl + 2;
    }
    if (clen >= 0) {
        if ((long long)have < clen) return eof ? -1 : 0;
        *body = b;
        *blen = (size_t)clen;
        return 1;
    }
    if (!eof) return 0;
    *body = b;
    *blen = have;
    return 1;
}

static void probe_finish_tcp(struct probe *p, int eof, uint64_t t0) {
    int status = 0;
    const char *body = NULL;
    size_t blen = 0;
    int r = http_parse_complete(p->resp.p ? p->resp.p : "", p->resp.len, eof, &status, &body, &blen);
    if (r == 0) return;
    if (r < 0) {
        probe_fail(p, p->resp.len == 0 ? "reset" : "bad response");
        return;
    }
    p->done = 1;
    p->ms = (double)(now_ns() - t0) / 1e6;
    if (status < 200 || status > 299) {
        snprintf(p->err, sizeof(p->err), "http status %d", status);
        p->ok = 0;
        return;
    }
    p->ok = 1;
    p->pod = json_get_str(body, blen, "pod");
    p->client = json_get_str(body, blen, "client");
}

int cmd_probe(int argc, char **argv) {
    long timeout_ms = 1000, size = 0;
    int udp = 0, unconnected = 0, v4mapped = 0;
    struct probe *ps = xmalloc(sizeof(*ps) * (size_t)(argc ? argc : 1));
    int np = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--timeout-ms")) {
            if (i + 1 >= argc) die_usage("probe: --timeout-ms: expected a number of milliseconds");
            timeout_ms = parse_long("probe: --timeout-ms", argv[++i], 1, 3600000, "a number of milliseconds 1-3600000");
        } else if (!strcmp(a, "--proto")) {
            if (i + 1 >= argc) die_usage("probe: --proto: expected tcp or udp");
            const char *v = argv[++i];
            if (!strcmp(v, "tcp")) udp = 0;
            else if (!strcmp(v, "udp")) udp = 1;
            else die_usage("probe: --proto: expected tcp or udp, got '%s'", v);
        } else if (!strcmp(a, "--size")) {
            if (i + 1 >= argc) die_usage("probe: --size: expected a datagram size in bytes 4-65000");
            size = parse_long("probe: --size", argv[++i], 4, 65000, "a datagram size in bytes 4-65000");
        } else if (!strcmp(a, "--unconnected")) {
            unconnected = 1;
        } else if (!strcmp(a, "--v4mapped")) {
            v4mapped = 1;
        } else if (a[0] == '-' && a[1] == '-') {
            die_usage("probe: unknown option '%s' (expected --timeout-ms, --proto, --size, --unconnected, --v4mapped or IPv4:PORT targets)", a);
        } else {
            memset(&ps[np], 0, sizeof(ps[np]));
            ps[np].target = a;
            ps[np].fd = -1;
            if (parse_addr(a, &ps[np].sa) < 0) die_usage("probe: target '%s': expected IPv4:PORT", a);
            np++;
        }
    }
    if (np == 0) die_usage("probe: expected at least one IPv4:PORT target");
    if (size && !udp) die_usage("probe: --size: expected --proto udp (a sized probe is a UDP echo)");
    if (unconnected && !udp) die_usage("probe: --unconnected: expected --proto udp (sendto/recvfrom without connect)");
    signal(SIGPIPE, SIG_IGN);
    /* A sized probe may exceed the MTU: sent with DF off, so the kernel fragments it. */
    char *payload = NULL;
    if (size) {
        payload = xmalloc((size_t)size);
        echo_payload(payload, (size_t)size);
    }

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) { perror("epoll_create1"); return 1; }
    uint64_t t0 = now_ns();
    uint64_t deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
    int pending = 0;
    for (int i = 0; i < np; i++) {
        struct probe *p = &ps[i];
        p->fd = socket(v4mapped ? AF_INET6 : AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0) { probe_fail(p, strerror(errno)); continue; }
        struct sockaddr_storage to;
        socklen_t tolen = target_addr(&p->sa, v4mapped, &to);
        if (!unconnected && connect(p->fd, (struct sockaddr *)&to, tolen) < 0 && errno != EINPROGRESS) {
            probe_fail(p, err_name(errno));
            continue;
        }
        struct epoll_event ev = {.events = udp ? EPOLLIN : EPOLLOUT, .data.u32 = (uint32_t)i};
        if (udp) {
            if (size) {
                int dont = IP_PMTUDISC_DONT;
                setsockopt(p->fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont));
            }
            const char *d = size ? payload : "probe\n";
            size_t dn = size ? (size_t)size : 6;
            ssize_t w = unconnected ? sendto(p->fd, d, dn, 0, (struct sockaddr *)&to, tolen) : send(p->fd, d, dn, 0);
            if (w < 0) { probe_fail(p, err_name(errno)); continue; }
            p->sent = 1;
        }
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) < 0) { probe_fail(p, strerror(errno)); continue; }
        pending++;
    }
    char rbuf[65536];
    while (pending > 0) {
        uint64_t t = now_ns();
        if (t >= deadline) break;
        int wait_ms = (int)((deadline - t + 999999) / 1000000);
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, wait_ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        for (int k = 0; k < n; k++) {
            struct probe *p = &ps[evs[k].data.u32];
            if (p->done) continue;
            if (udp) {
                struct sockaddr_storage from = {0};
                socklen_t fl = sizeof(from);
                ssize_t r = recvfrom(p->fd, rbuf, sizeof(rbuf), 0, (struct sockaddr *)&from, &fl);
                if (r >= 0) addr_text(&from, p->peer, sizeof(p->peer));
                if (r < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    probe_fail(p, err_name(errno));
                } else if (size) {
                    size_t diff = 0;
                    while (diff < (size_t)r && diff < (size_t)size && rbuf[diff] == payload[diff]) diff++;
                    p->intact = r == size && diff == (size_t)size;
                    if (!p->intact) {
                        char e[96];
                        snprintf(e, sizeof(e), "echo of %zd bytes differs from the %ld sent at byte %zu", r, size, diff);
                        probe_fail(p, e);
                    } else {
                        p->done = 1;
                        p->ok = 1;
                        p->ms = (double)(now_ns() - t0) / 1e6;
                    }
                } else {
                    p->done = 1;
                    p->ok = 1;
                    p->ms = (double)(now_ns() - t0) / 1e6;
                    p->pod = json_get_str(rbuf, (size_t)r, "pod");
                    p->client = json_get_str(rbuf, (size_t)r, "client");
                }
            } else if (!p->sent) {
                int err = 0;
                socklen_t el = sizeof(err);
                getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    probe_fail(p, err_name(err));
                } else {
                    struct sockaddr_storage pa = {0};
                    socklen_t pl = sizeof(pa);
                    if (getpeername(p->fd, (struct sockaddr *)&pa, &pl) == 0) addr_text(&pa, p->peer, sizeof(p->peer));
                    struct buf req = {0};
                    buf_printf(&req, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p->target);
                    ssize_t w = send(p->fd, req.p, req.len, MSG_NOSIGNAL);
                    int werr = errno;
                    free(req.p);
                    if (w < 0) {
                        probe_fail(p, err_name(werr));
                    } else {
                        p->sent = 1;
                        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = evs[k].data.u32};
                        epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
                    }
                }
            } else {
                for (;;) {
                    ssize_t r = recv(p->fd, rbuf, sizeof(rbuf), 0);
                    if (r > 0) {
                        buf_put(&p->resp, rbuf, (size_t)r);
                        probe_finish_tcp(p, 0, t0);
                        if (p->done) break;
                        continue;
                    }
                    if (r == 0) { probe_finish_tcp(p, 1, t0); break; }
                    if (errno == EINTR) continue;
                    if (errno == EAGAIN) break;
                    probe_fail(p, err_name(errno));
                    break;
                }
            }
            if (p->done) {
                epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
                pending--;
            }
        }
    }
    for (int i = 0; i < np; i++) {
        struct probe *p = &ps[i];
        if (!p->done) probe_fail(p, "timeout");
        if (p->fd >= 0) close(p->fd);
        struct buf b = {0};
        buf_puts(&b, "{\"target\":");
        buf_json_str(&b, p->target);
        if (p->ok) {
            buf_puts(&b, ",\"ok\":true");
            if (!size) {   /* a sized probe's answer is its own echo, not the server's JSON */
                buf_puts(&b, ",\"pod\":");
                buf_json_str(&b, p->pod ? p->pod : "");
                buf_puts(&b, ",\"client\":");
                buf_json_str(&b, p->client ? p->client : "");
            }
            buf_printf(&b, ",\"ms\":%.3f", p->ms);
            if (p->peer[0]) buf_printf(&b, ",\"peer\":\"%s\"", p->peer);
        } else {
            buf_puts(&b, ",\"ok\":false,\"error\":");
            buf_json_str(&b, p->err);
        }
        if (size) buf_printf(&b, ",\"size\":%ld,\"intact\":%s", size, p->intact ? "true" : "false");
        buf_puts(&b, "}");
        print_line(&b);
        free(b.p);
    }
    return 0;
}
