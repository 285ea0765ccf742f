// sluice-cni: the Sluice CNI plugin (CNI spec 1.1).
//
// The host that runs CNI plugins has no JVM, so this program only validates the request, forwards
// it to the node's agent over a Unix socket and prints the agent's answer. See docs/cni.md.
//
// Request (one line):  {"method":"cni","params":{"command":..,"containerID":..,"netns":..,
//                       "ifname":..,"args":..,"path":..,"config":<stdin config, compacted>}}\n
// Reply:               <exit code as decimal text>\n<bytes for stdout until EOF>
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/json.h"
#include "lib/net.h"

#define DEFAULT_SOCKET "/var/run/sluice/agent.sock"
#define DEFAULT_TIMEOUT_MS 60000
#define MAX_DEPTH 256
/* Limits of what the agent reads (its request line, Jackson's default number and name lengths):
 * a configuration past them is refused here, naming the limit, rather than by the agent. */
#define MAX_CONFIG (1 << 20)
#define MAX_NUMBER 1000
#define MAX_KEY 50000

static const char *const SUPPORTED[] = {"0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"};
#define NSUPPORTED (sizeof(SUPPORTED) / sizeof(SUPPORTED[0]))

enum {
    E_INCOMPATIBLE_VERSION = 1,
    E_UNSUPPORTED_FIELD = 2,
    E_UNKNOWN_CONTAINER = 3,
    E_INVALID_ENV = 4,
    E_IO = 5,
    E_DECODE = 6,
    E_INVALID_CONFIG = 7,
    E_TRY_AGAIN = 11,
    E_NOT_AVAILABLE = 50,
};

/* ------------------------------------------------------------------ memory */

void oom(void) {
    static const char m[] = "{\"cniVersion\":\"1.1.0\",\"code\":5,\"msg\":\"out of memory\"}\n";
    ssize_t r = write(1, m, sizeof(m) - 1);
    (void)r;
    _exit(1);
}

/* ------------------------------------------------------------------ errors */

static const char *g_version = "1.1.0"; /* cniVersion used in error results */
static int g_exit = 1;                    /* exit code of fail() */

static void fail(int code, const char *details, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
static void fail(int code, const char *details, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct buf b = {0};
    buf_puts(&b, "{\"cniVersion\":");
    buf_json_str_utf8(&b, g_version);
    char tmp[32];
    snprintf(tmp, sizeof(tmp), ",\"code\":%d,\"msg\":", code);
    buf_puts(&b, tmp);
    buf_json_str_utf8(&b, msg);
    if (details && *details) {
        buf_puts(&b, ",\"details\":");
        buf_json_str_utf8(&b, details);
    }
    buf_puts(&b, "}\n");
    write_all(1, b.p, b.len);
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?'; /* one line on stderr too */
    fprintf(stderr, "sluice-cni: %s\n", msg);
    exit(g_exit);
}

/* ------------------------------------------------------------------ JSON */

/* A validating JSON reader that writes a whitespace-free copy of its input and remembers the
 * top-level members it is asked about. */
struct json {
    const char *s;
    size_t n, i;
    struct buf out;
    const char *err;
    size_t err_at;
    /* top-level members of interest: raw token spans in s */
    const char *ver;
    size_t ver_len;
    int ver_is_str;
    const char *sock;
    size_t sock_len;
    int sock_is_str;
    const char *tmo;
    size_t tmo_len;
};

static int j_err(struct json *j, const char *what) {
    if (!j->err) {
        j->err = what;
        j->err_at = j->i;
    }
    return -1;
}

static void j_ws(struct json *j) {
    while (j->i < j->n) {
        char c = j->s[j->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        j->i++;
    }
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

/* The 4 hex digits of a \u escape starting at s[at] into *cp; 0 if there are not 4. */
static int hex4(const char *s, size_t n, size_t at, unsigned *cp) {
    if (at + 3 >= n) return 0;
    *cp = 0;
    for (size_t k = at; k < at + 4; k++) {
        if (!is_hex(s[k])) return 0;
        *cp = *cp * 16 + (unsigned)(s[k] <= '9' ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10);
    }
    return 1;
}

static int j_string(struct json *j) {
    size_t start = j->i;
    if (j->i >= j->n || j->s[j->i] != '"') return j_err(j, "expected a string");
    j->i++;
    while (j->i < j->n) {
        unsigned char c = (unsigned char)j->s[j->i];
        if (c == '"') {
            j->i++;
            buf_put(&j->out, j->s + start, j->i - start);
            return 0;
        }
        if (c < 0x20) return j_err(j, "control character in string");
        if (c == '\\') {
            if (j->i + 1 >= j->n) break;
            char e = j->s[j->i + 1];
            if (e == 'u') {
                /* A surrogate escape must be a whole pair: the agent's reader refuses half of one. */
                unsigned cp, lo;
                if (!hex4(j->s, j->n, j->i + 2, &cp)) return j_err(j, "bad \\u escape");
                j->i += 6;
                if (cp >= 0xdc00 && cp <= 0xdfff) return j_err(j, "unpaired surrogate in a \\u escape");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (j->i + 1 >= j->n || j->s[j->i] != '\\' || j->s[j->i + 1] != 'u' || !hex4(j->s, j->n, j->i + 2, &lo) ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return j_err(j, "unpaired surrogate in a \\u escape");
                    j->i += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", e) || e == 0) return j_err(j, "bad escape");
            j->i += 2;
            continue;
        }
        j->i++;
    }
    return j_err(j, "unterminated string");
}

static int j_number(struct json *j) {
    size_t start = j->i;
    const char *s = j->s;
    size_t n = j->n;
    if (j->i < n && s[j->i] == '-') j->i++;
    if (j->i >= n) return j_err(j, "bad number");
    if (s[j->i] == '0') {
        j->i++;
    } else if (s[j->i] >= '1' && s[j->i] <= '9') {
        while (j->i < n && s[j->i] >= '0' && s[j->i] <= '9') j->i++;
    } else {
        return j_err(j, "unexpected character");
    }
    if (j->i < n && s[j->i] == '.') {
        j->i++;
        if (j->i >= n || s[j->i] < '0' || s[j->i] > '9') return j_err(j, "bad number");
        while (j->i < n && s[j->i] >= '0' && s[j->i] <= '9') j->i++;
    }
    if (j->i < n && (s[j->i] == 'e' || s[j->i] == 'E')) {
        j->i++;
        if (j->i < n && (s[j->i] == '+' || s[j->i] == '-')) j->i++;
        if (j->i >= n || s[j->i] < '0' || s[j->i] > '9') return j_err(j, "bad number");
        while (j->i < n && s[j->i] >= '0' && s[j->i] <= '9') j->i++;
    }
    if (j->i - start > MAX_NUMBER) return j_err(j, "number longer than 1000 characters");
    buf_put(&j->out, s + start, j->i - start);
    return 0;
}

static int j_value(struct json *j, int depth);

static int j_literal(struct json *j, const char *lit) {
    size_t l = strlen(lit);
    if (j->n - j->i < l || memcmp(j->s + j->i, lit, l) != 0) return j_err(j, "unexpected character");
    j->i += l;
    buf_put(&j->out, lit, l);
    return 0;
}

static int j_object(struct json *j, int depth) {
    if (depth > MAX_DEPTH) return j_err(j, "nesting too deep");
    j->i++; /* { */
    buf_put(&j->out, "{", 1);
    j_ws(j);
    if (j->i < j->n && j->s[j->i] == '}') {
        j->i++;
        buf_put(&j->out, "}", 1);
        return 0;
    }
    for (;;) {
        j_ws(j);
        size_t kstart = j->i;
        if (j_string(j) < 0) return -1;
        size_t kend = j->i;
        if (kend - kstart - 2 > MAX_KEY) return j_err(j, "key longer than 50000 bytes");
        j_ws(j);
        if (j->i >= j->n || j->s[j->i] != ':') return j_err(j, "expected ':'");
        j->i++;
        buf_put(&j->out, ":", 1);
        j_ws(j);
        size_t vstart = j->i;
        int is_str = j->i < j->n && j->s[j->i] == '"';
        if (j_value(j, depth + 1) < 0) return -1;
        if (depth == 1) {
            const char *k = j->s + kstart + 1;
            size_t kl = kend - kstart - 2;
            if (kl == 10 && memcmp(k, "cniVersion", 10) == 0) {
                j->ver = j->s + vstart;
                j->ver_len = j->i - vstart;
                j->ver_is_str = is_str;
            } else if (kl == 11 && memcmp(k, "agentSocket", 11) == 0) {
                j->sock = j->s + vstart;
                j->sock_len = j->i - vstart;
                j->sock_is_str = is_str;
            } else if (kl == 14 && memcmp(k, "agentTimeoutMs", 14) == 0) {
                j->tmo = j->s + vstart;
                j->tmo_len = j->i - vstart;
            }
        }
        j_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            buf_put(&j->out, ",", 1);
            continue;
        }
        if (j->i < j->n && j->s[j->i] == '}') {
            j->i++;
            buf_put(&j->out, "}", 1);
            return 0;
        }
        return j_err(j, "expected ',' or '}'");
    }
}

static int j_array(struct json *j, int depth) {
    if (depth > MAX_DEPTH) return j_err(j, "nesting too deep");
    j->i++; /* [ */
    buf_put(&j->out, "[", 1);
    j_ws(j);
    if (j->i < j->n && j->s[j->i] == ']') {
        j->i++;
        buf_put(&j->out, "]", 1);
        return 0;
    }
    for (;;) {
        j_ws(j);
        if (j_value(j, depth + 1) < 0) return -1;
        j_ws(j);
        if (j->i < j->n && j->s[j->i] == ',') {
            j->i++;
            buf_put(&j->out, ",", 1);
            continue;
        }
        if (j->i < j->n && j->s[j->i] == ']') {
            j->i++;
            buf_put(&j->out, "]", 1);
            return 0;
        }
        return j_err(j, "expected ',' or ']'");
    }
}

static int j_value(struct json *j, int depth) {
    j_ws(j);
    if (j->i >= j->n) return j_err(j, "unexpected end of input");
    switch (j->s[j->i]) {
    case '{': return j_object(j, depth);
    case '[': return j_array(j, depth);
    case '"': return j_string(j);
    case 't': return j_literal(j, "true");
    case 'f': return j_literal(j, "false");
    case 'n': return j_literal(j, "null");
    default: return j_number(j);
    }
}

/* Decodes a JSON string token (with quotes) into a malloc'd C string; NULL if it holds a NUL. */
static char *j_decode(const char *tok, size_t len) {
    struct buf b = {0};
    buf_reserve(&b, len);
    for (size_t i = 1; i + 1 < len; i++) {
        char c = tok[i];
        if (c != '\\') {
            buf_put(&b, &c, 1);
            continue;
        }
        c = tok[++i];
        switch (c) {
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'n': c = '\n'; break;
        case 'r': c = '\r'; break;
        case 't': c = '\t'; break;
        case 'u': {
            char hex[5] = {tok[i + 1], tok[i + 2], tok[i + 3], tok[i + 4], 0};
            unsigned long cp = strtoul(hex, NULL, 16);
            i += 4;
            if (cp == 0) { free(b.p); return NULL; }
            if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < len && tok[i + 1] == '\\' && tok[i + 2] == 'u') {
                char lo[5] = {tok[i + 3], tok[i + 4], tok[i + 5], tok[i + 6], 0};
                unsigned long l = strtoul(lo, NULL, 16);
                if (l >= 0xdc00 && l <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (l - 0xdc00);
                    i += 6;
                }
            }
            char u[4];
            size_t ul;
            if (cp < 0x80) { u[0] = (char)cp; ul = 1; }
            else if (cp < 0x800) { u[0] = (char)(0xc0 | (cp >> 6)); u[1] = (char)(0x80 | (cp & 0x3f)); ul = 2; }
            else if (cp < 0x10000) {
                u[0] = (char)(0xe0 | (cp >> 12)); u[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[2] = (char)(0x80 | (cp & 0x3f)); ul = 3;
            } else {
                u[0] = (char)(0xf0 | (cp >> 18)); u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                u[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); u[3] = (char)(0x80 | (cp & 0x3f)); ul = 4;
            }
            buf_put(&b, u, ul);
            continue;
        }
        default: break; /* \" \\ \/ */
        }
        buf_put(&b, &c, 1);
    }
    if (!b.p) buf_put(&b, "", 0);
    return b.p;
}

/* ------------------------------------------------------------------ I/O */

static void read_stdin(struct buf *b) {
    char tmp[65536];
    for (;;) {
        ssize_t n = read(0, tmp, sizeof(tmp));
        if (n < 0) {
            if (errno == EINTR) continue;
            fail(E_IO, strerror(errno), "cannot read the network configuration from stdin");
        }
        if (n == 0) break;
        buf_put(b, tmp, (size_t)n);
        if (b->len > MAX_CONFIG)
            fail(E_INVALID_CONFIG, "expected: at most 1048576 bytes", "invalid network configuration: larger than 1 MiB");
    }
    if (!b->p) buf_put(b, "", 0);
}

static int supported_version(const char *v) {
    for (size_t i = 0; i < NSUPPORTED; i++)
        if (strcmp(v, SUPPORTED[i]) == 0) return 1;
    return 0;
}

static const char *getenv_nonempty(const char *name) {
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void require(const char *cmd, const char *name, const char *what) {
    if (getenv_nonempty(name)) return;
    char details[256];
    snprintf(details, sizeof(details), "expected: %s for %s", what, cmd);
    fail(E_INVALID_ENV, details, "%s is not set", name);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const char *cmd = getenv_nonempty("CNI_COMMAND");
    if (!cmd) fail(E_INVALID_ENV, "expected: one of ADD, DEL, CHECK, GC, STATUS, VERSION", "CNI_COMMAND is not set");
    if (strcmp(cmd, "VERSION") == 0) {
        static const char v[] = "{\"cniVersion\":\"1.1.0\",\"supportedVersions\":[\"0.3.0\",\"0.3.1\",\"0.4.0\",\"1.0.0\",\"1.1.0\"]}\n";
        return write_all(1, v, sizeof(v) - 1) == 0 ? 0 : 1;
    }
    int is_add = !strcmp(cmd, "ADD"), is_del = !strcmp(cmd, "DEL"), is_check = !strcmp(cmd, "CHECK");
    int is_gc = !strcmp(cmd, "GC"), is_status = !strcmp(cmd, "STATUS");
    if (!(is_add || is_del || is_check || is_gc || is_status)) {
        char details[] = "expected: one of ADD, DEL, CHECK, GC, STATUS, VERSION";
        struct buf q = {0};
        buf_json_str_utf8(&q, cmd);
        fail(E_INVALID_ENV, details, "CNI_COMMAND %s is not a known command", q.p);
    }

    /* The network configuration. */
    struct buf in = {0};
    read_stdin(&in);
    struct json j = {.s = in.p, .n = in.len};
    j_ws(&j);
    if (j.i >= j.n || j.s[j.i] != '{') {
        fail(E_DECODE, j.i >= j.n ? "stdin was empty" : "expected a JSON object on stdin",
             "failed to decode the network configuration: not a JSON object");
    }
    if (j_object(&j, 1) == 0) {
        j_ws(&j);
        if (j.i < j.n) j_err(&j, "trailing data after the object");
    }
    if (j.err) {
        char details[256];
        snprintf(details, sizeof(details), "%s at byte %zu", j.err, j.err_at);
        fail(E_DECODE, details, "failed to decode the network configuration: invalid JSON");
    }

    char *version = NULL;
    if (!j.ver || !j.ver_is_str || !(version = j_decode(j.ver, j.ver_len)))
        fail(E_INVALID_CONFIG, "expected: a string field \"cniVersion\"", "invalid network configuration: cniVersion is missing or not a string");
    if (!supported_version(version)) {
        struct buf q = {0};
        buf_json_str_utf8(&q, version);
        fail(E_INCOMPATIBLE_VERSION, "supported versions: 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0",
             "incompatible CNI version %s", q.p);
    }
    g_version = version;

    const char *sock_path = DEFAULT_SOCKET;
    if (j.sock) {
        char *s = j.sock_is_str ? j_decode(j.sock, j.sock_len) : NULL;
        if (!s || !*s) fail(E_INVALID_CONFIG, "expected: the path of the agent's Unix socket", "invalid network configuration: agentSocket must be a non-empty string");
        sock_path = s;
    }
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    if (strlen(sock_path) >= sizeof(sun.sun_path))
        fail(E_INVALID_CONFIG, "expected: a socket path shorter than 108 bytes", "invalid network configuration: agentSocket is too long");
    memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);

    long timeout_ms = DEFAULT_TIMEOUT_MS;
    if (j.tmo) {
        char tmp[32];
        char *end;
        size_t l = j.tmo_len < sizeof(tmp) - 1 ? j.tmo_len : sizeof(tmp) - 1;
        memcpy(tmp, j.tmo, l);
        tmp[l] = 0;
        timeout_ms = strtol(tmp, &end, 10);
        if (*end || timeout_ms < 1 || timeout_ms > 3600000)
            fail(E_INVALID_CONFIG, "expected: a number of milliseconds 1-3600000", "invalid network configuration: agentTimeoutMs is out of range");
    }

    /* Environment required by the command (CNI spec 1.1, section 2). */
    if (is_add || is_check || is_del) {
        require(cmd, "CNI_CONTAINERID", "the container ID");
        if (!is_del) require(cmd, "CNI_NETNS", "the path of the container's network namespace");
        require(cmd, "CNI_IFNAME", "the name of the interface to create inside the container");
    } else if (is_gc) {
        require(cmd, "CNI_PATH", "the list of directories holding CNI plugins");
    }

    /* The request line. */
    struct buf req = {0};
    buf_puts(&req, "{\"method\":\"cni\",\"params\":{\"command\":");
    buf_json_str_utf8(&req, cmd);
    static const struct { const char *key, *env; } fields[] = {
        {"containerID", "CNI_CONTAINERID"}, {"netns", "CNI_NETNS"}, {"ifname", "CNI_IFNAME"},
        {"args", "CNI_ARGS"}, {"path", "CNI_PATH"},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        const char *v = getenv(fields[i].env);
        buf_puts(&req, ",\"");
        buf_puts(&req, fields[i].key);
        buf_puts(&req, "\":");
        buf_json_str_utf8(&req, v ? v : "");
    }
    buf_puts(&req, ",\"config\":");
    buf_put(&req, j.out.p, j.out.len);
    buf_puts(&req, "}}\n");

    int unavailable = is_status ? E_NOT_AVAILABLE : E_TRY_AGAIN;
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000u;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) fail(E_IO, strerror(errno), "cannot create a Unix socket");
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        int e = errno;
        int connected = 0;
        if (e == EINPROGRESS || e == EAGAIN) {
            /* listen backlog full: retry until the deadline */
            while (!connected && now_ns() < deadline) {
                struct timespec ts = {0, 20 * 1000000L};
                nanosleep(&ts, NULL);
                if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EISCONN) connected = 1;
                else if (errno != EAGAIN && errno != EINPROGRESS && errno != EALREADY) { e = errno; break; }
            }
            if (!connected && now_ns() >= deadline) e = ETIMEDOUT;
        }
        if (!connected) {
            char details[512];
            snprintf(details, sizeof(details), "connect %s: %s", sock_path, strerror(e));
            fail(unavailable, details, "the sluice agent is not reachable at %s: %s%s", sock_path, strerror(e),
                 is_status ? "" : "; try again later");
        }
    }

    size_t off = 0;
    while (off < req.len) {
        if (!wait_fd(fd, POLLOUT, deadline))
            fail(unavailable, sock_path, "timed out after %ld ms sending the request to the sluice agent", timeout_ms);
        ssize_t k = send(fd, req.p + off, req.len - off, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fail(unavailable, sock_path, "the sluice agent closed the connection: %s; try again later", strerror(errno));
        }
        off += (size_t)k;
    }

    /* The reply: exit code line, then stdout bytes until EOF. */
    struct buf rep = {0};
    char tmp[65536];
    for (;;) {
        if (!wait_fd(fd, POLLIN, deadline))
            fail(unavailable, sock_path, "timed out after %ld ms waiting for the sluice agent; try again later", timeout_ms);
        ssize_t k = recv(fd, tmp, sizeof(tmp), 0);
        if (k < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            fail(unavailable, sock_path, "reading the sluice agent's reply failed: %s; try again later", strerror(errno));
        }
        if (k == 0) break;
        buf_put(&rep, tmp, (size_t)k);
    }
    close(fd);
    if (rep.len == 0) fail(unavailable, sock_path, "the sluice agent closed the connection without a reply; try again later");
    /* A reply that is not ours is shown (its first line, cut): the agent's API errors say why. */
    char malformed[300];
    int shown = (int)strcspn(rep.p, "\n");
    snprintf(malformed, sizeof(malformed), "expected: an exit code line, got: %.*s", shown < 200 ? shown : 200, rep.p);
    char *nl = memchr(rep.p, '\n', rep.len);
    if (!nl) fail(E_IO, malformed, "the sluice agent sent a malformed reply");
    size_t hl = (size_t)(nl - rep.p);
    if (hl > 0 && rep.p[hl - 1] == '\r') hl--;
    int code = 0;
    if (hl == 0 || hl > 3) fail(E_IO, malformed, "the sluice agent sent a malformed reply");
    for (size_t i = 0; i < hl; i++) {
        if (rep.p[i] < '0' || rep.p[i] > '9') fail(E_IO, malformed, "the sluice agent sent a malformed reply");
        code = code * 10 + (rep.p[i] - '0');
    }
    if (code > 255) fail(E_IO, "expected: an exit code 0-255", "the sluice agent sent a malformed reply");
    const char *body = nl + 1;
    size_t blen = rep.len - (size_t)(body - rep.p);
    if (code != 0 && blen == 0) g_exit = code;
    if (code != 0 && blen == 0) fail(E_IO, "", "the sluice agent failed the request (exit code %d) without a result", code);
    if (write_all(1, body, blen) < 0) return code ? code : 1;
    return code;
}
