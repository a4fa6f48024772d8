/*
 * cm_url.c: percent-decoding (see cm_url.h).
 */
#include "cm_url.h"

static int
cm_url_hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
