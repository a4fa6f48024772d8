/*
 * cm_url.h: percent-decoding (RFC 3986), the one decoder for query strings,
 * path parameters and the userinfo of database URLs.
 */
#ifndef CM_URL_H
#define CM_URL_H

#include <stddef.h>

/*
 * Decode src[0..len) into dst, which has room for len + 1 bytes, and
 * NUL-terminate it. plus_space turns '+' into ' ' (form encoding, query
 * strings only). Returns the decoded length, or -1 on a truncated or
 * non-hex escape or on %00 (which would cut a C string short).
 */
long cm_url_decode(const char *src, size_t len, int plus_space, char *dst);

#endif
