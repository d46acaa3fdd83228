/* SPDX-License-Identifier: MIT */
/* lib/common/ids.c: uuid_v4, uuid_shaped, name_valid. */
#include <stdlib.h>

#include "ids.h"
#include "tap.h"

#define N_UUIDS 1000

static int cmp_uuid(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void test_uuid_v4(void)
{
	static char ids[N_UUIDS][UUID_STR_LEN];
	unsigned bad_shape = 0, bad_bits = 0, dups = 0;

	for (int i = 0; i < N_UUIDS; i++) {
		char *u = ids[i];
		memset(u, 'x', UUID_STR_LEN);
		CHECK_INT(uuid_v4(u), 0);
		if (strlen(u) != 36 || !uuid_shaped(u))
			bad_shape++;
		for (int k = 0; k < 36; k++) {
			char c = u[k];
			bool hyphen = k == 8 || k == 13 || k == 18 || k == 23;
			if (hyphen ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
				bad_shape++; /* lowercase hex only */
		}
		/* version nibble 4; variant bits 10xx: 8, 9, a or b */
		if (u[14] != '4' || !strchr("89ab", u[19]) || u[19] == '\0')
			bad_bits++;
	}
	CHECK_INT(bad_shape, 0);
	CHECK_INT(bad_bits, 0);

	qsort(ids, N_UUIDS, UUID_STR_LEN, cmp_uuid);
	for (int i = 1; i < N_UUIDS; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			dups++;
	CHECK_INT(dups, 0);

	/* the random bits do vary: every other hex position takes several values */
	unsigned seen[36] = { 0 };
	for (int i = 0; i < N_UUIDS; i++)
		for (int k = 0; k < 36; k++) {
			char c = ids[i][k];
			seen[k] |= 1u << (c >= 'a' ? c - 'a' + 10 : c == '-' ? 0 : c - '0');
		}
	for (int k = 0; k < 36; k++) {
		if (k == 8 || k == 13 || k == 18 || k == 23 || k == 14)
			continue;
		int values = __builtin_popcount(seen[k]);
		CHECK(values >= (k == 19 ? 4 : 12));
	}
}

static void test_uuid_shaped(void)
{
	CHECK(uuid_shaped("123e4567-e89b-42d3-a456-426614174000"));
	CHECK(uuid_shaped("123E4567-E89B-42D3-A456-426614174000"));
	CHECK(uuid_shaped("00000000-0000-0000-0000-000000000000"));
	CHECK(uuid_shaped("ffffffff-FFFF-ffff-FFFF-ffffffffffff"));
	CHECK(uuid_shaped("123e4567-e89b-12d3-a456-426614174000")); /* any version */

	CHECK(!uuid_shaped(""));
	CHECK(!uuid_shaped("123e4567"));
	CHECK(!uuid_shaped("123e4567-e89b-42d3-a456-42661417400"));   /* 35 */
	CHECK(!uuid_shaped("123e4567-e89b-42d3-a456-4266141740000")); /* 37 */
	CHECK(!uuid_shaped("123e4567-e89b-42d3-a456-426614174000 "));
	CHECK(!uuid_shaped(" 123e4567-e89b-42d3-a456-42661417400"));
	CHECK(!uuid_shaped("123e4567e89b42d3a456426614174000"));
	CHECK(!uuid_shaped("123e4567-e89b-42d3-a456_426614174000"));
	CHECK(!uuid_shaped("123e456-7e89b-42d3-a456-426614174000"));
	CHECK(!uuid_shaped("123g4567-e89b-42d3-a456-426614174000"));
	CHECK(!uuid_shaped("123e4567-e89b-42d3-a456-42661417400z"));
	CHECK(!uuid_shaped("{23e4567-e89b-42d3-a456-426614174000"));
	CHECK(!uuid_shaped("123e4567--89b-42d3-a456-426614174000"));
	CHECK(!uuid_shaped("------------------------------------"));
}

static void test_name_valid(void)
{
	char s[80];

	CHECK(name_valid("a"));
	CHECK(name_valid("Z"));
	CHECK(name_valid("0"));
	CHECK(name_valid("vm-1"));
	CHECK(name_valid("web.example_2-b"));
	CHECK(name_valid("a..."));
	CHECK(name_valid("9_"));
	CHECK(name_valid("a-"));

	memset(s, 'a', sizeof(s));
	s[63] = '\0';
	CHECK(name_valid(s)); /* 63 characters: the longest */
	s[62] = '-';
	CHECK(name_valid(s));
	s[63] = 'b';
	s[64] = '\0';
	CHECK(!name_valid(s)); /* 64 */
	s[0] = '7';
	s[2] = '\0';
	CHECK(name_valid(s));

	CHECK(!name_valid(""));
	CHECK(!name_valid("-a"));
	CHECK(!name_valid(".a"));
	CHECK(!name_valid("_a"));
	CHECK(!name_valid("-"));
	CHECK(!name_valid("."));
	CHECK(!name_valid(" a"));
	CHECK(!name_valid("a b"));
	CHECK(!name_valid("a/b"));
	CHECK(!name_valid("a:b"));
	CHECK(!name_valid("a@b"));
	CHECK(!name_valid("a+b"));
	CHECK(!name_valid("a\n"));
	CHECK(!name_valid("a\t"));
	CHECK(!name_valid("\xc3\xa9"));
	CHECK(!name_valid("a\xc3\xa9"));
	CHECK(!name_valid("a~"));
	CHECK(!name_valid(".."));

	/* each printable ASCII character as the second one */
	for (int c = 0x20; c < 0x7f; c++) {
		char t[3] = { 'x', (char)c, '\0' };
		bool allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			       (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
		CHECK(name_valid(t) == allowed);
		t[0] = (char)c;
		t[1] = 'x';
		allowed = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		CHECK(name_valid(t) == allowed);
	}
}

int main(void)
{
	test_uuid_v4();
	test_uuid_shaped();
	test_name_valid();
	return test_done();
}
