#include "json.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static void json_esc(struct buf *b, const char *s, size_t n, int utf8) {
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': buf_puts(b, "\\\""); i++; continue;
        case '\\': buf_puts(b, "\\\\"); i++; continue;
        case '\n': buf_puts(b, "\\n"); i++; continue;
        case '\r': buf_puts(b, "\\r"); i++; continue;
        case '\t': buf_puts(b, "\\t"); i++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7f) {
            char tmp[8];
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            buf_puts(b, tmp);
            i++;
            continue;
        }
        size_t l = utf8 ? utf8_len((const unsigned char *)s + i, n - i) : 1;
        if (l == 0) {
            buf_puts(b, "\\ufffd");
            i++;
        } else {
            buf_put(b, s + i, l);
            i += l;
        }
    }
}

void buf_json_esc(struct buf *b, const char *s, size_t n) { json_esc(b, s, n, 0); }

void buf_json_str(struct buf *b, const char *s) {
    buf_puts(b, "\"");
    json_esc(b, s, strlen(s), 0);
    buf_puts(b, "\"");
}

void buf_json_str_utf8(struct buf *b, const char *s) {
    buf_puts(b, "\"");
    json_esc(b, s, strlen(s), 1);
    buf_puts(b, "\"");
}

char *json_get_str(const char *js, size_t n, const char *key) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl + 2 < n; i++) {
        if (js[i] != '"' || memcmp(js + i + 1, key, kl) != 0 || js[i + 1 + kl] != '"') continue;
        size_t j = i + kl + 2;
        while (j < n && isspace((unsigned char)js[j])) j++;
        if (j >= n || js[j] != ':') continue;
        j++;
        while (j < n && isspace((unsigned char)js[j])) j++;
        if (j >= n || js[j] != '"') continue;
        j++;
        struct buf out = {0};
        while (j < n && js[j] != '"') {
            if (js[j] == '\\' && j + 1 < n) {
                j++;
                char c = js[j];
                switch (c) {
                case 'n': c = '\n'; break;
                case 't': c = '\t'; break;
                case 'r': c = '\r'; break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'u':
                    if (j + 4 < n) {
                        char hex[5] = {js[j + 1], js[j + 2], js[j + 3], js[j + 4], 0};
                        long v = strtol(hex, NULL, 16);
                        c = (v > 0 && v < 0x80) ? (char)v : '?';
                        j += 4;
                    }
                    break;
                default: break;
                }
                buf_put(&out, &c, 1);
            } else {
                buf_put(&out, &js[j], 1);
            }
            j++;
        }
        buf_put(&out, "", 1);
        return out.p;
    }
    return NULL;
}
