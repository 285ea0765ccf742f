#include "args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void die_usage(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

long parse_long(const char *opt, const char *s, long min, long max, const char *what) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        die_usage("%s: expected %s, got '%s'", opt, what, s);
    return v;
}

double parse_double(const char *opt, const char *s, double min, const char *what) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min) || v > 1e7)
        die_usage("%s: expected %s, got '%s'", opt, what, s);
    return v;
}

const char *opt_value(int argc, char **argv, int *i, const char *cmd, const char *expected) {
    if (*i + 1 >= argc) die_usage("%s: %s: expected %s", cmd, argv[*i], expected);
    return argv[++*i];
}
