// sluice-pod http: one HTTP/1.1 request; the status and body as a JSON line.
#include "pod.h"

int cmd_http(int argc, char **argv) {
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
