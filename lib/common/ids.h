/* SPDX-License-Identifier: MIT */
/* Object identifiers and names: UUID v4 generation and the api.md name rule. */
#pragma once

#include <stdbool.h>

#define UUID_STR_LEN 37 /* 36 characters and the terminating NUL */

/* Fill out with a random lowercase hyphenated UUID v4 from getrandom(). */
int uuid_v4(char out[UUID_STR_LEN]);

/* true when s has the exact shape of a lowercase or uppercase hyphenated UUID. */
bool uuid_shaped(const char *s);

/* api.md name rule: ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ */
bool name_valid(const char *s);
