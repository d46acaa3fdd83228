/* SPDX-License-Identifier: MIT */
/* Network byte order at unaligned places in a packet buffer, and the bounded
 * output cursor every packet builder writes through. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16 & 0xff;
	p[2] = v >> 8 & 0xff;
	p[3] = v & 0xff;
}

/* A writer that stops at the end of the buffer and remembers that it did:
 * builders write on and check overflow once at the end. */
struct pkt_writer {
	uint8_t *p;
	size_t len, size;
	bool overflow;
};

/* n zeroed bytes at the end, or NULL (and w->overflow) when they do not fit. */
static inline uint8_t *pkt_reserve(struct pkt_writer *w, size_t n)
{
	uint8_t *p;

	if (w->overflow || w->size - w->len < n) {
		w->overflow = true;
		return NULL;
	}
	p = w->p + w->len;
	memset(p, 0, n);
	w->len += n;
	return p;
}
