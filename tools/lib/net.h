// Clocks, sockets and deadlines shared by sluice-pod and sluice-cni. IPv4 only.
#ifndef SLUICE_TOOLS_NET_H
#define SLUICE_TOOLS_NET_H
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds and milliseconds. */
uint64_t now_ns(void);
uint64_t now_ms(void);
void pause_ms(int ms);

/* Waits for events on fd until deadline (now_ns() clock): 1 ready, 0 timed out, -1 poll failed
 * (errors of the socket itself show as ready and surface on the next read or write). */
int wait_fd(int fd, short events, uint64_t deadline);
/* A non-blocking socket connected before deadline (now_ns() clock), or -1 with errno. */
int connect_deadline(const struct sockaddr_in *sa, int type, uint64_t deadline);

/* Writes or sends all n bytes (EINTR retried; send without SIGPIPE): 0, or -1 with errno. */
int write_all(int fd, const char *d, size_t n);
int send_all(int fd, const char *d, size_t n);
/* Receives exactly n bytes: 0, or -1 with errno (ECONNRESET on an early EOF). */
int recv_all(int fd, char *d, size_t n);

/* The short name results use for a socket errno: refused, unreachable, reset, timeout, else strerror. */
const char *err_name(int e);

/* Parses "IPv4:PORT" (port 1-65535): 0, or -1 if it is not one. */
int parse_addr(const char *s, struct sockaddr_in *sa);
void addr_str(const struct sockaddr_in *sa, char *buf, size_t n);

#endif
