/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 (lib/common/sha256.c) against the FIPS 180-2 example vectors and
 * against sha256sum(1), an independent implementation, on pseudo-random data
 * of every length around the block boundaries, fed in uneven pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sha256.h"
#include "tap.h"
#include "util.h"

static void hex_in_pieces(const uint8_t *data, size_t n, size_t piece, char out[SHA256_HEX_SIZE])
{
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct sha256 ctx;

	sha256_init(&ctx);
	for (size_t off = 0; off < n; off += piece)
		sha256_update(&ctx, data + off, MIN(piece, n - off));
	sha256_final(&ctx, digest);
	sha256_hex(digest, out);
}

static void test_nist_vectors(void)
{
	static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	_cleanup_free_ uint8_t *million = xmalloc(1000000);
	char hex[SHA256_HEX_SIZE];

	sha256_hex_of("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_hex_of(two_blocks, strlen(two_blocks), hex);
	CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	sha256_hex_of("", 0, hex);
	CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

	memset(million, 'a', 1000000);
	sha256_hex_of(million, 1000000, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* the same, one byte at a time and in pieces that straddle blocks */
	hex_in_pieces(million, 1000000, 1, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	hex_in_pieces(million, 1000000, 65, hex);
	CHECK_STR(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* xorshift: reproducible data, no dependence on the platform's rand() */
static uint32_t next_random(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

#define PEER_FILES 140

static void test_against_sha256sum(void)
{
	static const size_t pieces[] = { 1, 3, 55, 56, 63, 64, 65, 4096 };
	char dir[] = "/tmp/test-sha256-XXXXXX";
	_cleanup_free_ uint8_t *data = xmalloc(200000);
	_cleanup_free_ char *cmd = NULL;
	uint32_t state = 0x9e3779b9;
	char line[256];
	FILE *peer;
	unsigned seen = 0;

	for (size_t i = 0; i < 200000; i++)
		data[i] = (uint8_t)next_random(&state);
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}

	/* lengths 0..138 cover the padding cases; the last file is large */
	for (unsigned i = 0; i < PEER_FILES; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%03u", dir, i);
		size_t len = i < PEER_FILES - 1 ? i : 200000;
		FILE *f = fopen(path, "w");

		CHECK(f != NULL);
		if (!f)
			return;
		CHECK_INT(fwrite(data, 1, len, f), len);
		fclose(f);
	}
	cmd = xasprintf("cd %s && sha256sum [0-9]*", dir);
	peer = popen(cmd, "r");
	CHECK(peer != NULL);
	while (peer && fgets(line, sizeof(line), peer)) {
		char theirs[SHA256_HEX_SIZE], ours[SHA256_HEX_SIZE];
		unsigned i;
		size_t len;

		if (sscanf(line, "%64s %u", theirs, &i) != 2 || i >= PEER_FILES) {
			CHECK(!"unexpected sha256sum output");
			continue;
		}
		len = i < PEER_FILES - 1 ? i : 200000;
		sha256_hex_of(data, len, ours);
		CHECK_STR(ours, theirs);
		for (size_t p = 0; p < ARRAY_SIZE(pieces); p++) {
			hex_in_pieces(data, len, pieces[p], ours);
			CHECK_STR(ours, theirs);
		}
		seen++;
	}
	if (peer)
		CHECK_INT(pclose(peer), 0);
	CHECK_INT(seen, PEER_FILES);

	for (unsigned i = 0; i < PEER_FILES; i++) {
		_cleanup_free_ char *path = xasprintf("%s/%03u", dir, i);

		unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	test_nist_vectors();
	test_against_sha256sum();
	return test_done();
}
