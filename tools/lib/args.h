// Command-line parsing for the tools: every bad value is one line naming the option and what was
// expected, and exit code 2.
#ifndef SLUICE_TOOLS_ARGS_H
#define SLUICE_TOOLS_ARGS_H

/* The program name that prefixes messages; each program defines it. */
extern const char *g_prog;

void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
long parse_long(const char *opt, const char *s, long min, long max, const char *what);
double parse_double(const char *opt, const char *s, double min, const char *what);
/* The value of option argv[*i] (advancing *i), or dies naming what was expected. */
const char *opt_value(int argc, char **argv, int *i, const char *cmd, const char *expected);

#endif
