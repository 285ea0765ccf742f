// sluice-pod: the lab's pod server and its probe/benchmark client.
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
// Single file, static, no external libraries. IPv4 only.
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

#define MAX_PORTS 256

static const char *g_prog = "sluice-pod";

/* ------------------------------------------------------------------ utilities */

static void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) { fprintf(stderr, "%s: out of memory\n", g_prog); exit(1); }
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) { fprintf(stderr, "%s: out of memory\n", g_prog); exit(1); }
    return p;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long parse_long(const char *opt, const char *s, long min, long max, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        die_usage("%s: expected %s, got '%s'", opt, what, s);
    return v;
}

static double parse_double(const char *opt, const char *s, double min, const char *what) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min) || v > 1e7)
        die_usage("%s: expected %s, got '%s'", opt, what, s);
    return v;
}

static int parse_addr(const char *s, struct sockaddr_in *sa) {
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s) return -1;
    size_t hl = (size_t)(colon - s);
    if (hl >= 64) return -1;
    char host[64];
    memcpy(host, s, hl);
    host[hl] = 0;
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 1 || port > 65535) return -1;
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) return -1;
    return 0;
}

static void addr_str(const struct sockaddr_in *sa, char *buf, size_t n) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
    snprintf(buf, n, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
}

/* A growable byte buffer. */
struct buf {
    char *p;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra) {
    if (b->len + extra <= b->cap) return;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < b->len + extra) nc *= 2;
    b->p = xrealloc(b->p, nc);
    b->cap = nc;
}

static void buf_put(struct buf *b, const void *d, size_t n) {
    buf_reserve(b, n);
    memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void buf_puts(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

/* Appends s (n bytes) as JSON string content (without quotes). */
static void buf_json_esc(struct buf *b, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': buf_puts(b, "\\\""); break;
        case '\\': buf_puts(b, "\\\\"); break;
        case '\n': buf_puts(b, "\\n"); break;
        case '\r': buf_puts(b, "\\r"); break;
        case '\t': buf_puts(b, "\\t"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char tmp[8];
                snprintf(tmp, sizeof(tmp), "\\u%04x", c);
                buf_puts(b, tmp);
            } else {
                buf_put(b, &s[i], 1);
            }
        }
    }
}

static void buf_json_str(struct buf *b, const char *s) {
    buf_puts(b, "\"");
    buf_json_esc(b, s, strlen(s));
    buf_puts(b, "\"");
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void print_line(struct buf *b) {
    buf_put(b, "\n", 1);
    fwrite(b->p, 1, b->len, stdout);
    fflush(stdout);
}

/* Extracts the string value of "key" from a flat JSON object; returns a malloc'd string or NULL. */
static char *json_get_str(const char *js, size_t n, const char *key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < n; i++) {
        if (js[i] != '"' || memcmp(js + i + 1, key, kl) != 0 || js[i + 1 + kl] != '"') continue;
        size_t j = i + kl + 2;
        while (j < n && isspace((unsigned char)js[j])) j++;
        if (j >= n || js[j] != ':') continue;
        j++;
        while (j < n && isspace((unsigned char)js[j])) j++;
        if (j >= n || js[j] != '"') continue;
        j++;
        struct buf out = {0};
        while (j < n && js[j] != '"') {
            if (js[j] == '\\' && j + 1 < n) {
                j++;
                char c = js[j];
                switch (c) {
                case 'n': c = '\n'; break;
                case 't': c = '\t'; break;
                case 'r': c = '\r'; break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'u':
                    if (j + 4 < n) {
                        char hex[5] = {js[j + 1], js[j + 2], js[j + 3], js[j + 4], 0};
                        long v = strtol(hex, NULL, 16);
                        c = (v > 0 && v < 0x80) ? (char)v : '?';
                        j += 4;
                    }
                    break;
                default: break;
                }
                buf_put(&out, &c, 1);
            } else {
                buf_put(&out, &js[j], 1);
            }
            j++;
        }
        buf_put(&out, "", 1);
        return out.p;
    }
    return NULL;
}

static const char *err_name(int e) {
    switch (e) {
    case ECONNREFUSED: return "refused";
    case EHOSTUNREACH:
    case ENETUNREACH: return "unreachable";
    case ECONNRESET:
    case EPIPE: return "reset";
    case ETIMEDOUT:
    case EAGAIN: return "timeout";
    default: return strerror(e);
    }
}

/* ------------------------------------------------------------------ serve */

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

static int cmd_serve(int argc, char **argv) {
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

/* ------------------------------------------------------------------ probe */

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
};

/* The payload of a sized UDP probe: "ECHO" (so the server echoes it) and a byte pattern in which a
 * rewritten or shifted byte shows. */
static void echo_payload(char *d, size_t n) {
    memcpy(d, "ECHO", n < 4 ? n : 4);
    for (size_t i = 4; i < n; i++) d[i] = (char)((i * 31 + 7) & 0xff);
}

static void probe_fail(struct probe *p, const char *err) {
    p->done = 1;
    p->ok = 0;
    snprintf(p->err, sizeof(p->err), "%s", err);
}

/* Parses an HTTP response; returns 1 when complete (result set), 0 when more is needed. */
static int http_parse_complete(const char *d, size_t n, int eof, int *status, const char **body, size_t *blen) {
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

static int cmd_probe(int argc, char **argv) {
    long timeout_ms = 1000, size = 0;
    int udp = 0;
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
        } else if (a[0] == '-' && a[1] == '-') {
            die_usage("probe: unknown option '%s' (expected --timeout-ms, --proto, --size or IPv4:PORT targets)", a);
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
        p->fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (p->fd < 0) { probe_fail(p, strerror(errno)); continue; }
        if (connect(p->fd, (struct sockaddr *)&p->sa, sizeof(p->sa)) < 0 && errno != EINPROGRESS) {
            probe_fail(p, err_name(errno));
            continue;
        }
        struct epoll_event ev = {.events = udp ? EPOLLIN : EPOLLOUT, .data.u32 = (uint32_t)i};
        if (udp) {
            if (size) {
                int dont = IP_PMTUDISC_DONT;
                setsockopt(p->fd, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont));
            }
            ssize_t w = size ? send(p->fd, payload, (size_t)size, 0) : send(p->fd, "probe\n", 6, 0);
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
                ssize_t r = recv(p->fd, rbuf, sizeof(rbuf), 0);
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

/* ------------------------------------------------------------------ http */

/* Connects with a deadline; returns fd (blocking mode restored? no: non-blocking) or -1 with errno. */
static int connect_deadline(const struct sockaddr_in *sa, int type, uint64_t deadline) {
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) return fd;
    if (errno != EINPROGRESS) { int e = errno; close(fd); errno = e; return -1; }
    for (;;) {
        uint64_t t = now_ns();
        if (t >= deadline) { close(fd); errno = ETIMEDOUT; return -1; }
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int r = poll(&pf, 1, (int)((deadline - t + 999999) / 1000000));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { int e = errno; close(fd); errno = e; return -1; }
        if (r == 0) continue;
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) { close(fd); errno = err; return -1; }
        return fd;
    }
}

/* Waits for fd readiness until deadline: 1 ready, 0 timeout, -1 error. */
static int wait_fd(int fd, short events, uint64_t deadline) {
    for (;;) {
        uint64_t t = now_ns();
        if (t >= deadline) return 0;
        struct pollfd pf = {.fd = fd, .events = events};
        int r = poll(&pf, 1, (int)((deadline - t + 999999) / 1000000));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r > 0) return 1;
    }
}

static int cmd_http(int argc, char **argv) {
    const char *to = NULL, *path = "/", *host = NULL, *method = "GET";
    long timeout_ms = 5000;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int known = !strcmp(a, "--to") || !strcmp(a, "--path") || !strcmp(a, "--host") || !strcmp(a, "--method") ||
                    !strcmp(a, "--timeout-ms");
        if (!known) die_usage("http: unknown argument '%s' (expected --to, --path, --host, --method or --timeout-ms)", a);
        if (i + 1 >= argc) die_usage("http: %s: expected a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--to")) to = v;
        else if (!strcmp(a, "--path")) path = v;
        else if (!strcmp(a, "--host")) host = v;
        else if (!strcmp(a, "--method")) method = v;
        else timeout_ms = parse_long("http: --timeout-ms", v, 1, 3600000, "a number of milliseconds 1-3600000");
    }
    if (!to) die_usage("http: --to: expected IPv4:PORT");
    struct sockaddr_in sa;
    if (parse_addr(to, &sa) < 0) die_usage("http: --to: expected IPv4:PORT, got '%s'", to);
    if (!*method || strpbrk(method, " \r\n")) die_usage("http: --method: expected an HTTP method token, got '%s'", method);
    if (!*path || strpbrk(path, " \r\n")) die_usage("http: --path: expected a path without spaces, got '%s'", path);
    if (host && strpbrk(host, "\r\n")) die_usage("http: --host: expected a host without line breaks");
    signal(SIGPIPE, SIG_IGN);
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    int fd = connect_deadline(&sa, SOCK_STREAM, deadline);
    if (fd < 0) {
        fprintf(stderr, "%s: http: %s: %s\n", g_prog, to, err_name(errno));
        return 1;
    }
    struct buf req = {0};
    buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", method, path, host ? host : to);
    size_t off = 0;
    while (off < req.len) {
        int r = wait_fd(fd, POLLOUT, deadline);
        if (r <= 0) { fprintf(stderr, "%s: http: %s: timeout\n", g_prog, to); return 1; }
        ssize_t n = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fprintf(stderr, "%s: http: %s: %s\n", g_prog, to, err_name(errno));
            return 1;
        }
        off += (size_t)n;
    }
    struct buf resp = {0};
    char rb[65536];
    int is_head = !strcasecmp(method, "HEAD");
    for (;;) {
        int status = 0;
        const char *body = NULL;
        size_t blen = 0;
        int r = wait_fd(fd, POLLIN, deadline);
        if (r <= 0) { fprintf(stderr, "%s: http: %s: timeout\n", g_prog, to); return 1; }
        ssize_t n = recv(fd, rb, sizeof(rb), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fprintf(stderr, "%s: http: %s: %s\n", g_prog, to, err_name(errno));
            return 1;
        }
        if (n > 0) buf_put(&resp, rb, (size_t)n);
        int pr;
        if (is_head) {
            pr = memmem(resp.p ? resp.p : "", resp.len, "\r\n\r\n", 4) ? 1 : (n == 0 ? -1 : 0);
            if (pr == 1) {
                status = resp.len >= 12 ? atoi(resp.p + 9) : 0;
                blen = 0;
                body = "";
            }
        } else {
            pr = http_parse_complete(resp.p ? resp.p : "", resp.len, n == 0, &status, &body, &blen);
        }
        if (pr < 0) {
            fprintf(stderr, "%s: http: %s: %s\n", g_prog, to, resp.len ? "bad response" : "connection closed without a response");
            return 1;
        }
        if (pr == 1) {
            fwrite(body, 1, blen, stdout);
            fflush(stdout);
            close(fd);
            if (status < 200 || status > 299) {
                fprintf(stderr, "%s: http: %s: status %d\n", g_prog, to, status);
                return 1;
            }
            return 0;
        }
    }
}

/* ------------------------------------------------------------------ bench */

/* Log-linear latency histogram in nanoseconds: 64 sub-buckets per power of two. */
#define HSUB 64
#define HBUCKETS (HSUB + 40 * HSUB)

static int hist_index(uint64_t v) {
    if (v < HSUB) return (int)v;
    int e = 63 - __builtin_clzll(v);
    int idx = HSUB + (e - 6) * HSUB + (int)((v >> (e - 6)) - HSUB);
    return idx < HBUCKETS ? idx : HBUCKETS - 1;
}

static double hist_value(int idx) {
    if (idx < HSUB) return idx;
    int e = (idx - HSUB) / HSUB + 6;
    int sub = (idx - HSUB) % HSUB;
    double lo = (double)((uint64_t)(HSUB + sub) << (e - 6));
    double width = (double)(1ull << (e - 6));
    return lo + width / 2;
}

struct bench_cfg {
    int mode; /* 0 rr, 1 crr, 2 stream */
    int udp;
    struct sockaddr_in sa;
    size_t size;
    uint64_t start, end;
};

struct bench_thread {
    struct bench_cfg *cfg;
    pthread_t th;
    uint64_t trans, errors, bytes;
    uint64_t *hist;
};

#define IO_TIMEOUT_MS 2000

static void set_timeouts(int fd, int ms) {
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int blocking_connect(const struct sockaddr_in *sa, int type) {
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    set_timeouts(fd, IO_TIMEOUT_MS);
    if (type == SOCK_STREAM) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *d, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, d, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        d += k;
        n -= (size_t)k;
    }
    return 0;
}

static int recv_all(int fd, char *d, size_t n) {
    while (n > 0) {
        ssize_t k = recv(fd, d, n, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) { errno = ECONNRESET; return -1; }
        d += k;
        n -= (size_t)k;
    }
    return 0;
}

static void pause_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *bench_main(void *arg) {
    struct bench_thread *bt = arg;
    struct bench_cfg *cfg = bt->cfg;
    size_t size = cfg->size;
    if (cfg->udp && size < 4) size = 4;
    size_t bsz = cfg->mode == 2 ? 65536 : size;
    char *sbuf = xmalloc(bsz);
    char *rbuf = xmalloc(bsz);
    /* 'x' is not the first byte of an HTTP method nor of SINK, so the server echoes at once. */
    memset(sbuf, 'x', bsz);
    if (cfg->udp) memcpy(sbuf, "ECHO", 4);
    int fd = -1;
    uint64_t seq = 0;
    while (now_ns() < cfg->end) {
        if (cfg->mode == 2) {
            if (fd < 0) {
                fd = blocking_connect(&cfg->sa, SOCK_STREAM);
                if (fd < 0 || send_all(fd, "SINK\n", 5) < 0) {
                    bt->errors++;
                    if (fd >= 0) close(fd);
                    fd = -1;
                    pause_ms(10);
                    continue;
                }
            }
            ssize_t k = send(fd, sbuf, bsz, MSG_NOSIGNAL);
            if (k < 0) {
                if (errno == EINTR || errno == EAGAIN) continue;
                bt->errors++;
                close(fd);
                fd = -1;
                continue;
            }
            bt->bytes += (uint64_t)k;
            continue;
        }
        if (cfg->mode == 1) {
            uint64_t t0 = now_ns();
            int c = blocking_connect(&cfg->sa, SOCK_STREAM);
            if (c < 0) {
                bt->errors++;
                pause_ms(errno == EADDRNOTAVAIL ? 50 : 10);
                continue;
            }
            int ok = send_all(c, sbuf, size) == 0 && recv_all(c, rbuf, size) == 0;
            /* Abortive close: no TIME_WAIT on the client, so ports are not exhausted. */
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
            close(c);
            if (!ok) { bt->errors++; continue; }
            bt->trans++;
            bt->hist[hist_index(now_ns() - t0)]++;
            continue;
        }
        /* rr */
        if (fd < 0) {
            fd = blocking_connect(&cfg->sa, cfg->udp ? SOCK_DGRAM : SOCK_STREAM);
            if (fd < 0) { bt->errors++; pause_ms(10); continue; }
            if (cfg->udp) set_timeouts(fd, 200);
        }
        uint64_t t0 = now_ns();
        if (cfg->udp) {
            seq++;
            if (size >= 12) memcpy(sbuf + 4, &seq, 8);
            if (send(fd, sbuf, size, 0) < 0) { bt->errors++; pause_ms(1); continue; }
            int got = 0;
            for (;;) {
                ssize_t k = recv(fd, rbuf, size, 0);
                if (k < 0) {
                    if (errno == EINTR) continue;
                    break;
                }
                if ((size_t)k == size && (size < 12 || memcmp(rbuf + 4, &seq, 8) == 0)) { got = 1; break; }
                /* a stale reply from an earlier, timed-out datagram: keep waiting */
            }
            if (!got) {
                bt->errors++;
                if (errno != EAGAIN && errno != EWOULDBLOCK) pause_ms(1);
                continue;
            }
        } else {
            if (send_all(fd, sbuf, size) < 0 || recv_all(fd, rbuf, size) < 0) {
                bt->errors++;
                close(fd);
                fd = -1;
                continue;
            }
        }
        bt->trans++;
        bt->hist[hist_index(now_ns() - t0)]++;
    }
    if (fd >= 0) close(fd);
    free(sbuf);
    free(rbuf);
    return NULL;
}

static int cmd_bench(int argc, char **argv) {
    const char *mode = NULL, *proto = "tcp", *to = NULL;
    double seconds = -1;
    long size = 1, conns = 1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int known = !strcmp(a, "--mode") || !strcmp(a, "--proto") || !strcmp(a, "--to") || !strcmp(a, "--seconds") ||
                    !strcmp(a, "--size") || !strcmp(a, "--conns");
        if (!known) die_usage("bench: unknown argument '%s' (expected --mode, --proto, --to, --seconds, --size or --conns)", a);
        if (i + 1 >= argc) die_usage("bench: %s: expected a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--mode")) mode = v;
        else if (!strcmp(a, "--proto")) proto = v;
        else if (!strcmp(a, "--to")) to = v;
        else if (!strcmp(a, "--seconds")) seconds = parse_double("bench: --seconds", v, 0.001, "a positive number of seconds");
        else if (!strcmp(a, "--size")) size = parse_long("bench: --size", v, 1, 65000, "a size in bytes 1-65000");
        else conns = parse_long("bench: --conns", v, 1, 4096, "a connection count 1-4096");
    }
    struct bench_cfg cfg = {0};
    if (!mode) die_usage("bench: --mode: expected rr, crr or stream");
    if (!strcmp(mode, "rr")) cfg.mode = 0;
    else if (!strcmp(mode, "crr")) cfg.mode = 1;
    else if (!strcmp(mode, "stream")) cfg.mode = 2;
    else die_usage("bench: --mode: expected rr, crr or stream, got '%s'", mode);
    if (!strcmp(proto, "tcp")) cfg.udp = 0;
    else if (!strcmp(proto, "udp")) cfg.udp = 1;
    else die_usage("bench: --proto: expected tcp or udp, got '%s'", proto);
    if (cfg.udp && cfg.mode != 0) die_usage("bench: --proto udp: expected --mode rr (crr and stream are TCP only)");
    if (!to) die_usage("bench: --to: expected IPv4:PORT");
    if (parse_addr(to, &cfg.sa) < 0) die_usage("bench: --to: expected IPv4:PORT, got '%s'", to);
    if (seconds < 0) die_usage("bench: --seconds: expected a positive number of seconds");
    cfg.size = (size_t)size;
    signal(SIGPIPE, SIG_IGN);

    struct bench_thread *ts = calloc((size_t)conns, sizeof(*ts));
    if (!ts) { fprintf(stderr, "%s: out of memory\n", g_prog); return 1; }
    cfg.start = now_ns();
    cfg.end = cfg.start + (uint64_t)(seconds * 1e9);
    long started = 0;
    for (long i = 0; i < conns; i++) {
        ts[i].cfg = &cfg;
        ts[i].hist = calloc(HBUCKETS, sizeof(uint64_t));
        if (!ts[i].hist) { fprintf(stderr, "%s: out of memory\n", g_prog); return 1; }
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 256 * 1024);
        int rc = pthread_create(&ts[i].th, &at, bench_main, &ts[i]);
        pthread_attr_destroy(&at);
        if (rc != 0) { fprintf(stderr, "%s: bench: cannot start thread %ld: %s\n", g_prog, i, strerror(rc)); return 1; }
        started++;
    }
    uint64_t trans = 0, errors = 0, bytes = 0;
    uint64_t *hist = calloc(HBUCKETS, sizeof(uint64_t));
    if (!hist) return 1;
    for (long i = 0; i < started; i++) {
        pthread_join(ts[i].th, NULL);
        trans += ts[i].trans;
        errors += ts[i].errors;
        bytes += ts[i].bytes;
        for (int k = 0; k < HBUCKETS; k++) hist[k] += ts[i].hist[k];
    }
    double elapsed = (double)(now_ns() - cfg.start) / 1e9;
    struct buf b = {0};
    buf_printf(&b, "{\"mode\":\"%s\",\"proto\":\"%s\",\"conns\":%ld,\"size\":%ld,\"seconds\":%.3f", mode, proto, conns, size,
               elapsed);
    if (cfg.mode == 2) {
        buf_printf(&b, ",\"bytes\":%" PRIu64 ",\"gbps\":%.3f", bytes, (double)bytes * 8 / elapsed / 1e9);
    } else {
        double p50 = 0, p90 = 0, p99 = 0, p999 = 0;
        if (trans > 0) {
            uint64_t cum = 0;
            uint64_t r50 = (trans * 50 + 99) / 100, r90 = (trans * 90 + 99) / 100, r99 = (trans * 99 + 99) / 100,
                     r999 = (trans * 999 + 999) / 1000;
            for (int k = 0; k < HBUCKETS; k++) {
                if (!hist[k]) continue;
                uint64_t prev = cum;
                cum += hist[k];
                double v = hist_value(k) / 1000.0;
                if (prev < r50 && cum >= r50) p50 = v;
                if (prev < r90 && cum >= r90) p90 = v;
                if (prev < r99 && cum >= r99) p99 = v;
                if (prev < r999 && cum >= r999) p999 = v;
            }
        }
        buf_printf(&b, ",\"transactions\":%" PRIu64 ",\"rate\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f",
                   trans, (double)trans / elapsed, p50, p90, p99, p999);
        buf_printf(&b, ",\"bytes\":%" PRIu64 ",\"gbps\":%.3f", trans * (uint64_t)size * 2,
                   (double)(trans * (uint64_t)size * 2) * 8 / elapsed / 1e9);
    }
    buf_printf(&b, ",\"errors\":%" PRIu64 "}", errors);
    print_line(&b);
    int success = cfg.mode == 2 ? bytes > 0 : trans > 0;
    return success ? 0 : 1;
}

/* ------------------------------------------------------------------ hold */

static int cmd_hold(int argc, char **argv) {
    const char *to = NULL;
    double seconds = -1;
    long interval = 100;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int known = !strcmp(a, "--to") || !strcmp(a, "--seconds") || !strcmp(a, "--interval-ms");
        if (!known) die_usage("hold: unknown argument '%s' (expected --to, --seconds or --interval-ms)", a);
        if (i + 1 >= argc) die_usage("hold: %s: expected a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--to")) to = v;
        else if (!strcmp(a, "--seconds")) seconds = parse_double("hold: --seconds", v, 0.001, "a positive number of seconds");
        else interval = parse_long("hold: --interval-ms", v, 1, 3600000, "a number of milliseconds 1-3600000");
    }
    struct sockaddr_in sa;
    if (!to) die_usage("hold: --to: expected IPv4:PORT");
    if (parse_addr(to, &sa) < 0) die_usage("hold: --to: expected IPv4:PORT, got '%s'", to);
    if (seconds < 0) die_usage("hold: --seconds: expected a positive number of seconds");
    signal(SIGPIPE, SIG_IGN);

    uint64_t start = now_ns();
    uint64_t end = start + (uint64_t)(seconds * 1e9);
    uint64_t echo_wait = (uint64_t)(interval * 10 > 2000 ? interval * 10 : 2000) * 1000000ull;
    uint64_t sent = 0, echoed = 0;
    int reset = 0;
    char err[160] = "";
    int fd = connect_deadline(&sa, SOCK_STREAM, start + echo_wait);
    if (fd < 0) {
        snprintf(err, sizeof(err), "connect: %s", err_name(errno));
        reset = errno == ECONNRESET;
    } else {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        uint64_t next = start;
        while (!err[0]) {
            uint64_t t = now_ns();
            if (t >= end) break;
            if (t < next) {
                uint64_t d = next - t;
                if (next > end) d = end - t;
                struct timespec ts = {.tv_sec = (time_t)(d / 1000000000ull), .tv_nsec = (long)(d % 1000000000ull)};
                nanosleep(&ts, NULL);
                continue;
            }
            char msg[64];
            int ml = snprintf(msg, sizeof(msg), "hold %" PRIu64 "\n", sent + 1);
            ssize_t k = send(fd, msg, (size_t)ml, MSG_NOSIGNAL);
            if (k != ml) {
                int e = k < 0 ? errno : EIO;
                if (k < 0 && (e == EAGAIN || e == EINTR)) continue;
                reset = e == ECONNRESET || e == EPIPE;
                snprintf(err, sizeof(err), "send: %s", err_name(e));
                break;
            }
            sent++;
            char rb[64];
            size_t got = 0;
            uint64_t dl = now_ns() + echo_wait;
            while (got < (size_t)ml) {
                int r = wait_fd(fd, POLLIN, dl);
                if (r == 0) { snprintf(err, sizeof(err), "no echo within %" PRIu64 " ms", (uint64_t)(echo_wait / 1000000u)); break; }
                if (r < 0) { snprintf(err, sizeof(err), "poll: %s", strerror(errno)); break; }
                ssize_t n = recv(fd, rb + got, (size_t)ml - got, MSG_DONTWAIT);
                if (n == 0) { snprintf(err, sizeof(err), "closed by peer"); break; }
                if (n < 0) {
                    if (errno == EAGAIN || errno == EINTR) continue;
                    reset = errno == ECONNRESET;
                    snprintf(err, sizeof(err), "recv: %s", err_name(errno));
                    break;
                }
                got += (size_t)n;
            }
            if (err[0]) break;
            if (memcmp(rb, msg, (size_t)ml) != 0) { snprintf(err, sizeof(err), "echo mismatch"); break; }
            echoed++;
            next += (uint64_t)interval * 1000000ull;
        }
        close(fd);
    }
    struct buf b = {0};
    buf_printf(&b, "{\"sent\":%" PRIu64 ",\"echoed\":%" PRIu64 ",\"reset\":%s,\"error\":", sent, echoed, reset ? "true" : "false");
    buf_json_str(&b, err);
    buf_puts(&b, "}");
    print_line(&b);
    return err[0] ? 1 : 0;
}

/* ------------------------------------------------------------------ packets: craft and sniff */

/* Protocols craft sends and sniff receives; SCTP by number: the kernel may have no stack for it. */
#define PROTO_SCTP 132
static const struct { const char *name; int num; int hdr; } PROTOS[] = {
    {"tcp", IPPROTO_TCP, 20}, {"udp", IPPROTO_UDP, 8}, {"sctp", PROTO_SCTP, 12}, {"icmp", IPPROTO_ICMP, 8},
};
#define NPROTOS (sizeof(PROTOS) / sizeof(PROTOS[0]))

static int proto_index(const char *cmd, const char *opt, const char *s) {
    for (size_t i = 0; i < NPROTOS; i++)
        if (!strcmp(s, PROTOS[i].name)) return (int)i;
    die_usage("%s: %s: expected tcp, udp, sctp or icmp, got '%s'", cmd, opt, s);
}

static const char *proto_name(int num) {
    for (size_t i = 0; i < NPROTOS; i++)
        if (PROTOS[i].num == num) return PROTOS[i].name;
    return NULL;
}

/* The minimal L4 header length of a protocol (0 when unknown). */
static int proto_hdr(int num) {
    for (size_t i = 0; i < NPROTOS; i++)
        if (PROTOS[i].num == num) return PROTOS[i].hdr;
    return 0;
}

static uint32_t parse_ip4(const char *cmd, const char *opt, const char *s) {
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1) die_usage("%s: %s: expected an IPv4 address, got '%s'", cmd, opt, s);
    return a.s_addr;
}

static const char *ip4_str(uint32_t a, char buf[INET_ADDRSTRLEN]) {
    struct in_addr in = {.s_addr = a};
    return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* Takes the value of option argv[*i], or dies naming what was expected. */
static const char *opt_value(int argc, char **argv, int *i, const char *cmd, const char *expected) {
    if (*i + 1 >= argc) die_usage("%s: %s: expected %s", cmd, argv[*i], expected);
    return argv[++*i];
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

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
#define MAX_PACKET 65535

static int icmp_is_error(int type) { return type == 3 || type == 4 || type == 5 || type == 11 || type == 12; }

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

static int cmd_craft(int argc, char **argv) {
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

static int cmd_sniff(int argc, char **argv) {
    int proto = -1;
    long port = -1, timeout_ms = -1, count = 0;
    uint32_t from = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--proto")) proto = PROTOS[proto_index("sniff", a, opt_value(argc, argv, &i, "sniff", "tcp, udp, sctp or icmp"))].num;
        else if (!strcmp(a, "--port")) port = parse_long("sniff: --port", opt_value(argc, argv, &i, "sniff", "a port"), 0, 65535, "a port 0-65535");
        else if (!strcmp(a, "--from")) from = parse_ip4("sniff", a, opt_value(argc, argv, &i, "sniff", "an IPv4 address"));
        else if (!strcmp(a, "--timeout-ms")) timeout_ms = parse_long("sniff: --timeout-ms", opt_value(argc, argv, &i, "sniff", "milliseconds"), 1, 3600000, "a number of milliseconds 1-3600000");
        else if (!strcmp(a, "--count")) count = parse_long("sniff: --count", opt_value(argc, argv, &i, "sniff", "a count"), 1, 1000000, "a count 1-1000000");
        else die_usage("sniff: unknown argument '%s' (expected --proto, --port, --from, --timeout-ms or --count)", a);
    }
    if (proto < 0) die_usage("sniff: --proto: expected tcp, udp, sctp or icmp");
    if (timeout_ms < 0) die_usage("sniff: --timeout-ms: expected a number of milliseconds 1-3600000");
    if (port >= 0 && proto == IPPROTO_ICMP) die_usage("sniff: --port: expected no port with --proto icmp");
    /* A raw socket gets a copy of every packet of its protocol delivered to this host, before the
     * protocol's own handler (if there is one) sees it; fragments arrive reassembled. */
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, proto);
    if (fd < 0) { fprintf(stderr, "%s: sniff: raw socket: %s\n", g_prog, strerror(errno)); return 1; }
    fprintf(stderr, "%s: sniff: listening for %s\n", g_prog, proto_name(proto));
    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)timeout_ms * 1000000ull;
    uint8_t *p = xmalloc(MAX_PACKET);
    long seen = 0, matched = 0;
    while (!count || matched < count) {
        int r = wait_fd(fd, POLLIN, deadline);
        if (r < 0) { fprintf(stderr, "%s: sniff: poll: %s\n", g_prog, strerror(errno)); return 1; }
        if (r == 0) break;
        ssize_t n = recv(fd, p, MAX_PACKET, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fprintf(stderr, "%s: sniff: recv: %s\n", g_prog, strerror(errno));
            return 1;
        }
        if (n < 20 || (size_t)n < (size_t)(p[0] & 0x0f) * 4) continue;
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

/* ------------------------------------------------------------------ main */

static void usage(void) {
    fprintf(stderr,
            "usage: sluice-pod serve --name NS/POD [--tcp P1,P2,...] [--udp P1,P2,...]\n"
            "       sluice-pod probe [--timeout-ms N] [--proto tcp|udp] [--size B] IPv4:PORT...\n"
            "       sluice-pod http --to IPv4:PORT [--path P] [--host H] [--method M] [--timeout-ms N]\n"
            "       sluice-pod bench --mode rr|crr|stream --proto tcp|udp --to IPv4:PORT --seconds S [--size B] [--conns C]\n"
            "       sluice-pod hold --to IPv4:PORT --seconds S [--interval-ms I]\n"
            "       sluice-pod craft --dst IPv4 --proto tcp|udp|sctp|icmp [--src IPv4] [--sport N] [--dport N]\n"
            "                        [--flags FSRPAU] [--icmp-type T] [--icmp-code C]\n"
            "                        [--inner-src IPv4 --inner-dst IPv4 --inner-proto P [--inner-sport N] [--inner-dport N]]\n"
            "                        [--payload TEXT | --size B] [--id N] [--ttl N] [--df]\n"
            "                        [--frag-offset BYTES [--mf] | --fragment BYTES] [--truncate BYTES] [--bad-checksum]\n"
            "                        [--vxlan VNI --outer-dst IPv4 [--outer-src IPv4] [--outer-port 8472]]\n"
            "                        [--count N] [--interval-ms I]\n"
            "       sluice-pod sniff --proto tcp|udp|sctp|icmp --timeout-ms T [--port N] [--from IPv4] [--count N]\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "%s: command: expected serve, probe, http, bench, hold, craft or sniff\n", g_prog);
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serve")) return cmd_serve(argc - 2, argv + 2);
    if (!strcmp(cmd, "probe")) return cmd_probe(argc - 2, argv + 2);
    if (!strcmp(cmd, "http")) return cmd_http(argc - 2, argv + 2);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 2, argv + 2);
    if (!strcmp(cmd, "hold")) return cmd_hold(argc - 2, argv + 2);
    if (!strcmp(cmd, "craft")) return cmd_craft(argc - 2, argv + 2);
    if (!strcmp(cmd, "sniff")) return cmd_sniff(argc - 2, argv + 2);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help")) { usage(); return 0; }
    fprintf(stderr, "%s: command '%s': expected serve, probe, http, bench, hold, craft or sniff\n", g_prog, cmd);
    return 2;
}
