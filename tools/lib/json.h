// JSON text for the tools' result lines and requests: string escaping and a flat-object reader.
#ifndef SLUICE_TOOLS_JSON_H
#define SLUICE_TOOLS_JSON_H
#include <stddef.h>

#include "buf.h"

/* Appends s (n bytes) as JSON string content, without quotes; bytes >= 0x80 are copied as they are. */
void buf_json_esc(struct buf *b, const char *s, size_t n);
/* Appends s as a quoted JSON string; bytes >= 0x80 are copied as they are. */
void buf_json_str(struct buf *b, const char *s);
/* Appends s as a quoted JSON string that is valid UTF-8: invalid sequences become U+FFFD. */
void buf_json_str_utf8(struct buf *b, const char *s);
/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0 if it is not one. */
size_t utf8_len(const unsigned char *s, size_t n);
/* The string value of "key" in a flat JSON object, as a malloc'd string; NULL if absent. */
char *json_get_str(const char *js, size_t n, const char *key);

#endif
