#define _GNU_SOURCE
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t now_ms(void) { return now_ns() / 1000000u; }

void pause_ms(int ms) {
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Milliseconds to poll for until deadline, rounded up, at most 1000 s (callers loop). */
static int poll_ms(uint64_t t, uint64_t deadline) {
    uint64_t ms = (deadline - t + 999999) / 1000000;
    return ms > 1000000 ? 1000000 : (int)ms;
}

int wait_fd(int fd, short events, uint64_t deadline) {
    for (;;) {
        uint64_t t = now_ns();
        if (t >= deadline) return 0;
        struct pollfd pf = {.fd = fd, .events = events};
        int r = poll(&pf, 1, poll_ms(t, deadline));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r > 0) return 1;
    }
}

int connect_deadline(const struct sockaddr_in *sa, int type, uint64_t deadline) {
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) return fd;
    if (errno != EINPROGRESS) { int e = errno; close(fd); errno = e; return -1; }
    for (;;) {
        uint64_t t = now_ns();
        if (t >= deadline) { close(fd); errno = ETIMEDOUT; return -1; }
        struct pollfd pf = {.fd = fd, .events = POLLOUT};
        int r = poll(&pf, 1, poll_ms(t, deadline));
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

int write_all(int fd, const char *d, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, d, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        d += k;
        n -= (size_t)k;
    }
    return 0;
}

int send_all(int fd, const char *d, size_t n) {
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

int recv_all(int fd, char *d, size_t n) {
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

const char *err_name(int e) {
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

int parse_addr(const char *s, struct sockaddr_in *sa) {
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

void addr_str(const struct sockaddr_in *sa, char *buf, size_t n) {
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
    snprintf(buf, n, "%s:%u", ip, (unsigned)ntohs(sa->sin_port));
}
