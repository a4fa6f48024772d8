/*
 * cm_url.c: percent-decoding (see cm_url.h).
 */
#include <ctype.h>

#include "cm_url.h"

/* The value of a hex digit (an unsigned char), or -1. */
static int
cm_url_hex(int c)
{
	if (!isxdigit(c))
		return -1;
	return isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
}

long
cm_url_decode(const char *src, size_t len, int plus_space, char *dst)
{
	size_t i, j = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '%') {
			if (i + 2 >= len)
				return -1;
			hi = cm_url_hex((unsigned char)src[i + 1]);
			lo = cm_url_hex((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			dst[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (src[i] == '+' && plus_space) {
			dst[j++] = ' ';
		} else {
			dst[j++] = src[i];
		}
	}
	dst[j] = '\0';
	return (long)j;
}
