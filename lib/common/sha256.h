/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (FIPS 180-4), incremental: the image import hashes the source bytes
 * as they stream past, without keeping them. libc only.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

struct sha256 {
	uint32_t state[8];
	uint64_t length;        /* bytes hashed so far */
	uint8_t block[64];      /* a partial block waiting for more bytes */
	size_t block_len;
};

void sha256_init(struct sha256 *ctx);
void sha256_update(struct sha256 *ctx, const void *data, size_t n);
/* Pads, writes the digest; ctx must be initialised again before reuse. */
void sha256_final(struct sha256 *ctx, uint8_t digest[SHA256_DIGEST_SIZE]);

/* Lower-case hex of a digest, NUL-terminated. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_SIZE], char out[SHA256_HEX_SIZE]);

/* One-shot: the hex digest of n bytes. */
void sha256_hex_of(const void *data, size_t n, char out[SHA256_HEX_SIZE]);
