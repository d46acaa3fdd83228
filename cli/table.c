/* SPDX-License-Identifier: MIT */
/* Aligned text tables for the CLI (see table.h). */
#include <stdarg.h>

#include "table.h"
#include "util.h"

struct table {
	size_t n_cols;
	size_t n_cells; /* header included */
	char **cells;   /* row-major */
};

static void table_add_va(struct table *t, va_list ap)
{
	t->cells = xrealloc(t->cells, (t->n_cells + t->n_cols) * sizeof(char *));
	for (size_t i = 0; i < t->n_cols; i++) {
		const char *s = va_arg(ap, const char *);
		t->cells[t->n_cells++] = xstrdup(s ? s : "");
	}
}

struct table *table_new(size_t n_cols, ...)
{
	struct table *t = xcalloc(1, sizeof(*t));
	va_list ap;

	t->n_cols = n_cols;
	va_start(ap, n_cols);
	table_add_va(t, ap);
	va_end(ap);
	return t;
}

void table_add(struct table *t, ...)
{
	va_list ap;

	va_start(ap, t);
	table_add_va(t, ap);
	va_end(ap);
}

/* Columns on a terminal: UTF-8 continuation bytes take none. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void table_print(const struct table *t, FILE *f)
{
	_cleanup_free_ size_t *width = xcalloc(t->n_cols, sizeof(size_t));

	for (size_t i = 0; i < t->n_cells; i++)
		width[i % t->n_cols] = MAX(width[i % t->n_cols], text_width(t->cells[i]));
	for (size_t i = 0; i < t->n_cells; i++) {
		size_t col = i % t->n_cols;
		fputs(t->cells[i], f);
		if (col + 1 == t->n_cols) {
			fputc('\n', f);
			continue;
		}
		for (size_t pad = text_width(t->cells[i]); pad < width[col] + 2; pad++)
			fputc(' ', f);
	}
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n_cells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}
