// Unit tests of tools/lib (buffers, JSON, sockets, argument parsing); `make ctest` builds and runs
// them and `make test` runs that first. Prints one line per failed check; exit 1 if any failed.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/args.h"
#include "lib/buf.h"
#include "lib/json.h"
#include "lib/net.h"

const char *g_prog = "lib_test";
void oom(void) { abort(); }

static int failures;

#define CHECK(cond) \
    do { if (!(cond)) { fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); failures++; } } while (0)

static int eq(const struct buf *b, const char *want) { return b->len == strlen(want) && !memcmp(b->p, want, b->len); }

static void test_buf(void) {
    struct buf b = {0};
    for (int i = 0; i < 1000; i++) buf_puts(&b, "abc");
    CHECK(b.len == 3000);
    CHECK(b.p[b.len] == 0); /* kept NUL-terminated */
    CHECK(!memcmp(b.p + 2997, "abc", 3));
    struct buf f = {0};
    buf_printf(&f, "%d-%s", 42, "x");
    CHECK(eq(&f, "42-x"));
    struct buf e = {0};
    buf_put(&e, "", 0);
    CHECK(e.p && e.len == 0 && e.p[0] == 0);
    free(b.p), free(f.p), free(e.p);
}

static void test_json_escape(void) {
    struct buf b = {0};
    buf_json_str(&b, "a\"b\\c\n\t\x01\x7f");
    CHECK(eq(&b, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\""));
    /* raw: bytes >= 0x80 as they are, valid or not; utf8: invalid ones become U+FFFD */
    struct buf r = {0}, u = {0};
    buf_json_str(&r, "\xc3\xa9\xff");
    buf_json_str_utf8(&u, "\xc3\xa9\xff");
    CHECK(eq(&r, "\"\xc3\xa9\xff\""));
    CHECK(eq(&u, "\"\xc3\xa9\\ufffd\""));
    struct buf n = {0};
    buf_json_esc(&n, "x\0y", 3);
    CHECK(eq(&n, "x\\u0000y"));
    free(b.p), free(r.p), free(u.p), free(n.p);
}

static void test_utf8(void) {
    CHECK(utf8_len((const unsigned char *)"a", 1) == 1);
    CHECK(utf8_len((const unsigned char *)"\xe2\x82\xac", 3) == 3);
    CHECK(utf8_len((const unsigned char *)"\xe2\x82", 2) == 0);      /* cut short */
    CHECK(utf8_len((const unsigned char *)"\xc0\x80", 2) == 0);      /* overlong */
    CHECK(utf8_len((const unsigned char *)"\xed\xa0\x80", 3) == 0);  /* surrogate */
    CHECK(utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4) == 0); /* past U+10FFFF */
}

static void test_json_get_str(void) {
    const char *js = "{\"name\" : \"ns/p\\\"od\", \"other\":1, \"u\":\"\\u0041\\n\"}";
    char *v = json_get_str(js, strlen(js), "name");
    CHECK(v && !strcmp(v, "ns/p\"od"));
    free(v);
    v = json_get_str(js, strlen(js), "u");
    CHECK(v && !strcmp(v, "A\n"));
    free(v);
    CHECK(json_get_str(js, strlen(js), "other") == NULL); /* not a string */
    CHECK(json_get_str(js, strlen(js), "missing") == NULL);
}

static void test_addr(void) {
    struct sockaddr_in sa;
    char s[32];
    CHECK(parse_addr("10.1.2.3:8080", &sa) == 0);
    addr_str(&sa, s, sizeof(s));
    CHECK(!strcmp(s, "10.1.2.3:8080"));
    CHECK(parse_addr("10.1.2.3:0", &sa) == -1);
    CHECK(parse_addr("10.1.2.3:65536", &sa) == -1);
    CHECK(parse_addr("10.1.2.3", &sa) == -1);
    CHECK(parse_addr("host:80", &sa) == -1);
    CHECK(parse_addr(":80", &sa) == -1);
    CHECK(!strcmp(err_name(ECONNREFUSED), "refused"));
    CHECK(!strcmp(err_name(ENETUNREACH), "unreachable"));
    CHECK(!strcmp(err_name(EPIPE), "reset"));
    CHECK(!strcmp(err_name(EAGAIN), "timeout"));
}

static void test_sockets(void) {
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(wait_fd(sv[0], POLLIN, now_ns() + 20 * 1000000ull) == 0); /* nothing to read: times out */
    CHECK(wait_fd(sv[0], POLLIN, now_ns()) == 0);                    /* a past deadline: at once */
    CHECK(send_all(sv[1], "hello", 5) == 0);
    CHECK(wait_fd(sv[0], POLLIN, now_ns() + 1000 * 1000000ull) == 1);
    char got[5];
    CHECK(recv_all(sv[0], got, 5) == 0 && !memcmp(got, "hello", 5));
    CHECK(write_all(sv[1], "ab", 2) == 0);
    close(sv[1]);
    char more[4];
    errno = 0;
    CHECK(recv_all(sv[0], more, 4) == -1 && errno == ECONNRESET); /* EOF after 2 of 4 bytes */
    close(sv[0]);
}

/* die_usage: one line "prog: message" on stderr and exit code 2; checked in a child. */
static void test_parse_errors(void) {
    CHECK(parse_long("--n", "42", 1, 100, "1-100") == 42);
    CHECK(parse_double("--s", "0.5", 0, "seconds") == 0.5);
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        parse_long("--n", "101", 1, 100, "1-100");
        _exit(0);
    }
    close(p[1]);
    char out[256] = {0};
    size_t n = 0;
    for (ssize_t k; n < sizeof(out) - 1 && (k = read(p[0], out + n, sizeof(out) - 1 - n)) > 0;) n += (size_t)k;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(n > 0 && !strcmp(out, "lib_test: --n: expected 1-100, got '101'\n"));
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

int main(void) {
    test_buf();
    test_json_escape();
    test_utf8();
    test_json_get_str();
    test_addr();
    test_sockets();
    test_parse_errors();
    if (failures) { fprintf(stderr, "lib_test: %d checks failed\n", failures); return 1; }
    puts("lib_test: all checks passed");
    return 0;
}
