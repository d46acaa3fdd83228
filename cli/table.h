/* SPDX-License-Identifier: MIT */
/*
 * Aligned text tables for the CLI's human output: a header row, then the
 * rows, each column as wide as its widest cell, two spaces between columns.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

struct table;

/* A table with n_cols columns named by the n_cols header strings that follow. */
struct table *table_new(size_t n_cols, ...);
/* Append a row: n_cols strings (copied; NULL prints as ""). */
void table_add(struct table *t, ...);
/* Print the header and the rows; the last column is not padded. */
void table_print(const struct table *t, FILE *f);
void table_free(struct table *t);

static inline void table_freep(struct table **t)
{
	if (*t)
		table_free(*t);
}
#define _cleanup_table_ __attribute__((cleanup(table_freep)))
