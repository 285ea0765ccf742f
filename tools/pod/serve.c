// sluice-pod serve: the lab pod's server: HTTP (answering with the pod's name), echo and sink on TCP
// ports, echo on UDP ports; epoll workers, "ready" on stdout once listening.
#include "pod.h"

#define MAX_PORTS 256

enum { K_TCP_LISTEN = 1, K_UDP, K_CONN };
enum { M_UNDECIDED = 0, M_HTTP, M_SINK, M_ECHO };

#define SCRATCH_SIZE (256 * 1024)
#define MAX_HEADER (64 * 1024)
#define OUT_HIGH_WATER (1024 * 1024)
#define UNDECIDED_MS 200

struct conn {
    int kind;
    int fd;
    int mode;
    int closing;    /* close once out is drained */
    int in_paused;  /* EPOLLIN removed (backpressure) */
    int want_out;   /* EPOLLOUT registered */
    int dead;
    int rd_eof;
    char peer[32];
    struct buf in;
    size_t in_off;
    struct buf out;
    size_t out_off;
    uint64_t body_left;
    uint64_t deadline;              /* undecided deadline */
    struct conn *und_next, *und_prev;
    int in_und;
};

struct worker {
    int ep;
    char *scratch;
    struct conn *und_head;
};

static const char *g_pod_name = "";
static size_t g_pod_name_len;

static void update_events(struct worker *w, struct conn *c) {
    struct epoll_event ev = {0};
    ev.events = (c->in_paused ? 0 : EPOLLIN) | (c->want_out ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void und_remove(struct worker *w, struct conn *c) {
    if (!c->in_und) return;
    if (c->und_prev) c->und_prev->und_next = c->und_next; else w->und_head = c->und_next;
    if (c->und_next) c->und_next->und_prev = c->und_prev;
    c->und_next = c->und_prev = NULL;
    c->in_und = 0;
}

static void conn_kill(struct worker *w, struct conn *c) {
    if (c->dead) return;
    c->dead = 1;
    und_remove(w, c);
    epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

static void conn_free(struct conn *c) {
    free(c->in.p);
    free(c->out.p);
    free(c);
}

/* Tries to write pending output. Returns 0 ok (maybe still pending), -1 when the conn died. */
static int conn_flush(struct worker *w, struct conn *c) {
    while (c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.p + c->out_off, c->out.len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) { c->out_off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        conn_kill(w, c);
        return -1;
    }
    int changed = 0;
    if (c->out_off >= c->out.len) {
        c->out.len = c->out_off = 0;
        if (c->closing) {
            shutdown(c->fd, SHUT_WR);
            conn_kill(w, c);
            return -1;
        }
        if (c->want_out) { c->want_out = 0; changed = 1; }
        if (c->in_paused && !c->rd_eof) { c->in_paused = 0; changed = 1; }
    } else {
        if (!c->want_out) { c->want_out = 1; changed = 1; }
        size_t pending = c->out.len - c->out_off;
        int pause = (c->mode == M_ECHO) || pending > OUT_HIGH_WATER;
        if (pause && !c->in_paused) { c->in_paused = 1; changed = 1; }
    }
    if (changed) update_events(w, c);
    return 0;
}

/* Sends data now if nothing is queued, queueing the remainder. Returns -1 if the conn died. */
static int conn_send(struct worker *w, struct conn *c, const char *d, size_t n) {
    if (c->out_off < c->out.len) {
        buf_put(&c->out, d, n);
        return conn_flush(w, c);
    }
    while (n > 0) {
        ssize_t k = send(c->fd, d, n, MSG_NOSIGNAL);
        if (k > 0) { d += k; n -= (size_t)k; continue; }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        conn_kill(w, c);
        return -1;
    }
    if (n > 0) {
        c->out.len = c->out_off = 0;
        buf_put(&c->out, d, n);
        return conn_flush(w, c);
    }
    if (c->closing) return conn_flush(w, c);
    return 0;
}

static int hdr_name_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen) {
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0) return 0;
    const char *v = line + nl + 1;
    const char *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return 1;
}

static int token_in(const char *v, size_t vl, const char *tok) {
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= vl; i++) {
        if (strncasecmp(v + i, tok, tl) == 0) return 1;
    }
    return 0;
}

/* Processes complete HTTP requests in c->in. Returns -1 if the conn died. */
/* One line per HTTP request on stdout (the pod's log), written whole by one write(2) so that the
 * workers' lines never interleave: what the backend itself received, for tests that must prove a
 * request never reached it (the L7 proxy's 403s). Control characters are shown as '?'. */
static void access_log(const char *peer, const char *m, size_t ml, const char *path, size_t pl, const char *host, size_t hl) {
    char line[768];
    size_t n = 0;
    const char *parts[] = {"http ", peer, " ", NULL, " ", NULL, " host=", NULL};
    const char *vals[] = {NULL, NULL, NULL, m, NULL, path, NULL, host};
    size_t lens[] = {0, 0, 0, ml, 0, pl, 0, hl};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        const char *src = parts[i] ? parts[i] : vals[i];
        size_t len = parts[i] ? strlen(parts[i]) : lens[i];
        for (size_t j = 0; j < len && n < sizeof(line) - 1; j++)
            line[n++] = (unsigned char)src[j] < 0x20 || src[j] == 0x7f ? '?' : src[j];
    }
    line[n++] = '\n';
    ssize_t wr = write(1, line, n);
    (void)wr;
}

static int http_process(struct worker *w, struct conn *c) {
    struct buf resp = {0};
    int rc = 0;
    for (;;) {
        size_t avail = c->in.len - c->in_off;
        if (c->body_left > 0) {
            size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
            c->in_off += take;
            c->body_left -= take;
            if (c->body_left > 0) break;
            continue;
        }
        if (c->closing) { c->in_off = c->in.len; break; }
        if (avail == 0) break;
        const char *req = c->in.p + c->in_off;
        const char *end = memmem(req, avail, "\r\n\r\n", 4);
        if (!end) {
            if (avail > MAX_HEADER) {
                static const char big[] =
                    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                buf_put(&resp, big, sizeof(big) - 1);
                c->closing = 1;
                c->in_off = c->in.len;
            }
            break;
        }
        size_t hlen = (size_t)(end - req) + 4;
        const char *le = memmem(req, hlen, "\r\n", 2);
        const char *sp1 = memchr(req, ' ', (size_t)(le - req));
        const char *m = req, *path = "", *ver = "";
        size_t ml = (size_t)(le - req), pl = 0, vl = 0;
        if (sp1) {
            ml = (size_t)(sp1 - req);
            path = sp1 + 1;
            const char *sp2 = memchr(path, ' ', (size_t)(le - path));
            if (sp2) {
                pl = (size_t)(sp2 - path);
                ver = sp2 + 1;
                vl = (size_t)(le - ver);
            } else {
                pl = (size_t)(le - path);
            }
        }
        const char *host = "";
        size_t host_l = 0;
        uint64_t clen = 0;
        int conn_close = 0, conn_keep = 0, chunked = 0;
        const char *line = le + 2;
        while (line < end + 2) {
            const char *nl = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
            if (!nl) break;
            size_t ll = (size_t)(nl - line);
            const char *v;
            size_t vlen;
            if (hdr_name_is(line, ll, "host", &v, &vlen)) {
                host = v;
                host_l = vlen;
            } else if (hdr_name_is(line, ll, "content-length", &v, &vlen)) {
                clen = 0;
                for (size_t i = 0; i < vlen && isdigit((unsigned char)v[i]); i++) clen = clen * 10 + (uint64_t)(v[i] - '0');
            } else if (hdr_name_is(line, ll, "connection", &v, &vlen)) {
                if (token_in(v, vlen, "close")) conn_close = 1;
                if (token_in(v, vlen, "keep-alive")) conn_keep = 1;
            } else if (hdr_name_is(line, ll, "transfer-encoding", &v, &vlen)) {
                if (token_in(v, vlen, "chunked")) chunked = 1;
            }
            line = nl + 2;
        }
        int http10 = (vl == 8 && memcmp(ver, "HTTP/1.0", 8) == 0);
        int keep = http10 ? (conn_keep && !conn_close) : !conn_close;
        if (chunked) keep = 0; /* bodies we cannot skip: answer, then close */
        int is_head = (ml == 4 && memcmp(m, "HEAD", 4) == 0);

        access_log(c->peer, m, ml, path, pl, host, host_l);

        struct buf body = {0};
        buf_puts(&body, "{\"pod\":\"");
        buf_json_esc(&body, g_pod_name, g_pod_name_len);
        buf_puts(&body, "\",\"method\":\"");
        buf_json_esc(&body, m, ml);
        buf_puts(&body, "\",\"path\":\"");
        buf_json_esc(&body, path, pl);
        buf_puts(&body, "\",\"host\":\"");
        buf_json_esc(&body, host, host_l);
        buf_puts(&body, "\",\"client\":\"");
        buf_puts(&body, c->peer);
        buf_puts(&body, "\"}\n");
        buf_printf(&resp,
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\nConnection: %s\r\n\r\n",
                   body.len, keep ? "keep-alive" : "close");
        if (!is_head) buf_put(&resp, body.p, body.len);
        free(body.p);

        c->in_off += hlen;
        c->body_left = chunked ? 0 : clen;
        if (!keep) {
            c->closing = 1;
            c->in_off = c->in.len;
            break;
        }
    }
    if (c->in_off >= c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > 0 && c->in_off > c->in.len / 2) {
        memmove(c->in.p, c->in.p + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    if (resp.len > 0) {
        rc = conn_send(w, c, resp.p, resp.len);
    } else if (c->closing && c->out_off >= c->out.len) {
        rc = conn_flush(w, c);
    }
    free(resp.p);
    return rc;
}

static const char *const CANDIDATES[] = {"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "PATCH ", "OPTIONS ", "SINK\n"};
#define NCAND (sizeof(CANDIDATES) / sizeof(CANDIDATES[0]))

/* Decides the mode from the first bytes: returns mode, or M_UNDECIDED when more bytes are needed. */
static int decide_mode(const char *d, size_t n, int force) {
    int prefix = 0;
    for (size_t i = 0; i < NCAND; i++) {
        size_t cl = strlen(CANDIDATES[i]);
        if (n >= cl) {
            if (memcmp(d, CANDIDATES[i], cl) == 0) return i == NCAND - 1 ? M_SINK : M_HTTP;
        } else if (memcmp(d, CANDIDATES[i], n) == 0) {
            prefix = 1;
        }
    }
    if (prefix && !force) return M_UNDECIDED;
    return M_ECHO;
}

/* Applies a decided mode to the buffered first bytes. Returns -1 if the conn died. */
static int conn_set_mode(struct worker *w, struct conn *c, int mode) {
    c->mode = mode;
    und_remove(w, c);
    if (mode == M_HTTP) return http_process(w, c);
    if (mode == M_SINK) {
        c->in.len = c->in_off = 0;
        return 0;
    }
    /* echo */
    size_t n = c->in.len - c->in_off;
    int rc = 0;
    if (n > 0) {
        char *tmp = xmalloc(n);
        memcpy(tmp, c->in.p + c->in_off, n);
        c->in.len = c->in_off = 0;
        rc = conn_send(w, c, tmp, n);
        free(tmp);
    }
    return rc;
}

static void conn_on_data(struct worker *w, struct conn *c, const char *d, size_t n) {
    switch (c->mode) {
    case M_SINK: return;
    case M_ECHO: conn_send(w, c, d, n); return;
    case M_HTTP:
        buf_put(&c->in, d, n);
        http_process(w, c);
        return;
    default: {
        buf_put(&c->in, d, n);
        int m = decide_mode(c->in.p + c->in_off, c->in.len - c->in_off, 0);
        if (m == M_UNDECIDED) {
            if (!c->in_und) {
                c->deadline = now_ns() + UNDECIDED_MS * 1000000ull;
                c->und_next = w->und_head;
                c->und_prev = NULL;
                if (w->und_head) w->und_head->und_prev = c;
                w->und_head = c;
                c->in_und = 1;
            }
            return;
        }
        conn_set_mode(w, c, m);
    }
    }
}

static void conn_on_eof(struct worker *w, struct conn *c) {
    c->rd_eof = 1;
    if (c->mode == M_UNDECIDED && c->in.len > c->in_off) {
        if (conn_set_mode(w, c, decide_mode(c->in.p + c->in_off, c->in.len - c->in_off, 1)) < 0) return;
    }
    if (c->dead) return;
    c->closing = 1;
    if (!c->in_paused) { c->in_paused = 1; update_events(w, c); }
    conn_flush(w, c);
}

static void conn_readable(struct worker *w, struct conn *c) {
    for (int iter = 0; iter < 16 && !c->dead && !c->in_paused; iter++) {
        ssize_t n = recv(c->fd, w->scratch, SCRATCH_SIZE, 0);
        if (n > 0) {
            conn_on_data(w, c, w->scratch, (size_t)n);
            if ((size_t)n < SCRATCH_SIZE) break;
            continue;
        }
        if (n == 0) { conn_on_eof(w, c); break; }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        conn_kill(w, c);
        break;
    }
}

static void tcp_accept(struct worker *w, int lfd) {
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            return; /* EAGAIN, EMFILE, ...: try again on next wakeup */
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct conn *c = calloc(1, sizeof(*c));
        if (!c) { close(fd); continue; }
        c->kind = K_CONN;
        c->fd = fd;
        if (sa.sin_family == AF_INET) addr_str(&sa, c->peer, sizeof(c->peer));
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) { close(fd); free(c); continue; }
    }
}

static void udp_readable(struct worker *w, int fd) {
    for (int i = 0; i < 64; i++) {
        struct sockaddr_in sa;
        socklen_t sl = sizeof(sa);
        ssize_t n = recvfrom(fd, w->scratch, 65536, 0, (struct sockaddr *)&sa, &sl);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (n >= 4 && memcmp(w->scratch, "ECHO", 4) == 0) {
            sendto(fd, w->scratch, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&sa, sl);
        } else {
            char peer[32], out[512];
            addr_str(&sa, peer, sizeof(peer));
            struct buf b = {0};
            buf_puts(&b, "{\"pod\":\"");
            buf_json_esc(&b, g_pod_name, g_pod_name_len);
            buf_puts(&b, "\",\"client\":\"");
            buf_puts(&b, peer);
            buf_puts(&b, "\"}\n");
            size_t bl = b.len < sizeof(out) ? b.len : sizeof(out);
            memcpy(out, b.p, bl);
            free(b.p);
            sendto(fd, out, bl, MSG_DONTWAIT, (struct sockaddr *)&sa, sl);
        }
    }
}

struct listener {
    int kind;
    int fd;
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct epoll_event evs[256];
    for (;;) {
        int timeout = w->und_head ? 50 : -1;
        int n = epoll_wait(w->ep, evs, 256, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            exit(1);
        }
        struct conn *dead_list[256];
        int ndead = 0;
        for (int i = 0; i < n; i++) {
            int kind = *(int *)evs[i].data.ptr;
            if (kind == K_TCP_LISTEN) {
                tcp_accept(w, ((struct listener *)evs[i].data.ptr)->fd);
            } else if (kind == K_UDP) {
                udp_readable(w, ((struct listener *)evs[i].data.ptr)->fd);
            } else {
                struct conn *c = evs[i].data.ptr;
                if (c->dead) continue;
                uint32_t e = evs[i].events;
                if (e & EPOLLOUT) conn_flush(w, c);
                if (!c->dead && (e & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
                    if (c->in_paused && (e & (EPOLLHUP | EPOLLERR))) {
                        int err = 0;
                        socklen_t el = sizeof(err);
                        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                        if (err || (e & EPOLLHUP)) conn_kill(w, c);
                    } else if (!c->in_paused) {
                        conn_readable(w, c);
                    }
                }
                if (c->dead) dead_list[ndead++] = c;
            }
        }
        /* Free after the batch: a later event of this batch may still point at a conn. */
        if (w->und_head) {
            uint64_t t = now_ns();
            struct conn *c = w->und_head;
            while (c) {
                struct conn *next = c->und_next;
                if (t >= c->deadline) {
                    conn_set_mode(w, c, M_ECHO);
                    if (c->dead) {
                        /* The batch is over; nothing else refers to it. */
                        int listed = 0;
                        for (int k = 0; k < ndead; k++) listed |= dead_list[k] == c;
                        if (!listed) conn_free(c);
                    }
                }
                c = next;
            }
        }
        for (int k = 0; k < ndead; k++) conn_free(dead_list[k]);
    }
    return NULL;
}

static int parse_ports(const char *opt, const char *s, int *ports, int *np) {
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < 1 || v > 65535 || (*end && *end != ','))
            die_usage("%s: expected a comma-separated list of ports 1-65535, got '%s'", opt, s);
        if (*np >= MAX_PORTS) die_usage("%s: at most %d ports", opt, MAX_PORTS);
        ports[(*np)++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int cmd_serve(int argc, char **argv) {
    const char *name = NULL;
    int tcp[MAX_PORTS], udp[MAX_PORTS], ntcp = 0, nudp = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc && (!strcmp(a, "--name") || !strcmp(a, "--tcp") || !strcmp(a, "--udp")))
            die_usage("serve: %s: expected a value", a);
        if (!strcmp(a, "--name")) name = argv[++i];
        else if (!strcmp(a, "--tcp")) parse_ports("--tcp", argv[++i], tcp, &ntcp);
        else if (!strcmp(a, "--udp")) parse_ports("--udp", argv[++i], udp, &nudp);
        else die_usage("serve: unknown argument '%s' (expected --name, --tcp or --udp)", a);
    }
    if (!name) die_usage("serve: --name: expected NAMESPACE/POD");
    g_pod_name = name;
    g_pod_name_len = strlen(name);

    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGTERM);
    sigaddset(&ss, SIGINT);
    pthread_sigmask(SIG_BLOCK, &ss, NULL);
    signal(SIGPIPE, SIG_IGN);

    int nl = ntcp + nudp;
    struct listener *ls = xmalloc(sizeof(*ls) * (size_t)(nl ? nl : 1));
    for (int i = 0; i < nl; i++) {
        int is_tcp = i < ntcp;
        int port = is_tcp ? tcp[i] : udp[i - ntcp];
        int fd = socket(AF_INET, (is_tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fprintf(stderr, "%s: serve: socket for %s port %d: %s\n", g_prog, is_tcp ? "tcp" : "udp", port, strerror(errno));
            return 1;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_ANY)};
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (is_tcp && listen(fd, 4096) < 0)) {
            fprintf(stderr, "%s: serve: bind %s port %d: %s\n", g_prog, is_tcp ? "tcp" : "udp", port, strerror(errno));
            return 1;
        }
        ls[i].kind = is_tcp ? K_TCP_LISTEN : K_UDP;
        ls[i].fd = fd;
    }

    int nthreads = get_nprocs();
    if (nthreads < 1) nthreads = 1;
    if (nthreads > 4) nthreads = 4;
    for (int t = 0; t < nthreads; t++) {
        struct worker *w = calloc(1, sizeof(*w));
        if (!w) { fprintf(stderr, "%s: out of memory\n", g_prog); return 1; }
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->scratch = xmalloc(SCRATCH_SIZE);
        if (w->ep < 0) { perror("epoll_create1"); return 1; }
        for (int i = 0; i < nl; i++) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = &ls[i]};
            if (epoll_ctl(w->ep, EPOLL_CTL_ADD, ls[i].fd, &ev) < 0) { perror("epoll_ctl"); return 1; }
        }
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, worker_main, w) != 0) { fprintf(stderr, "%s: pthread_create failed\n", g_prog); return 1; }
        pthread_attr_destroy(&at);
    }
    fputs("ready\n", stdout);
    fflush(stdout);
    int sig = 0;
    while (sigwait(&ss, &sig) != 0) {}
    _exit(0);
}
