// sluice-pod bench: request/response (rr), connect/request/response (crr) or stream throughput to one
// address for a time, over C connections; one JSON line with the rate and latency percentiles.
#include "pod.h"

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

int cmd_bench(int argc, char **argv) {
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
