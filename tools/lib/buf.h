// Growable byte buffers and allocation that cannot fail silently, shared by sluice-pod and sluice-cni.
#ifndef SLUICE_TOOLS_BUF_H
#define SLUICE_TOOLS_BUF_H
#include <stddef.h>

/* Each program says what running out of memory looks like to its caller (a message on stderr for
 * sluice-pod, a CNI error result for the plugin); it must not return. */
void oom(void) __attribute__((noreturn));

void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);

/* A growable byte buffer, kept NUL-terminated (p is NULL until the first put). */
struct buf {
    char *p;
    size_t len, cap;
};

void buf_reserve(struct buf *b, size_t extra);
void buf_put(struct buf *b, const void *d, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a newline and writes the buffer to stdout, flushed: one result line. */
void print_line(struct buf *b);

#endif
