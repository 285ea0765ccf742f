// sluice-pod hold: one TCP connection held open, a message sent every interval and its echo awaited;
// one JSON line: sent, echoed, whether the connection was reset.
#include "pod.h"

int cmd_hold(int argc, char **argv) {
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
