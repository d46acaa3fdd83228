/* SPDX-License-Identifier: MIT */
/* log/validate.c: every rule of api.md §3.4 for Log and Query requests. */
#include <errno.h>
#include <stdlib.h>

#include "tap.h"
#include "validate.h"

static char err[256];

static int entry(const char *msg, const char *component, int level, char **ids, size_t nids)
{
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT;

	e.message = (char *)msg;
	e.component = (char *)component;
	e.level = level;
	e.related_object_ids = ids;
	e.n_related_object_ids = nids;
	err[0] = 0;
	return log_validate_entry(&e, err, sizeof(err));
}

static void test_entry(void)
{
	char *ok_ids[] = { "vm-1", "2f1c0e9a-0000-4000-8000-000000000000" };
	char *empty_id[] = { "" };
	char *bad_utf8_id[] = { "\xc3\x28" };
	char big[LOG_MAX_MESSAGE + 2];
	char *many[LOG_MAX_OBJECT_IDS + 1];
	char long_id[LOG_MAX_OBJECT_ID + 2];

	CHECK_INT(entry("VM started", "vmm", 4, ok_ids, 2), 0);
	CHECK_INT(entry("Grüße, ВМ запущена ✓", "", 0, NULL, 0), 0);
	CHECK_INT(log_validate_entry(NULL, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "Missing entry");

	CHECK_INT(entry("", "vmm", 0, NULL, 0), -EINVAL);
	CHECK_STR(err, "empty message");
	CHECK_INT(entry("x", "vmm", 5, NULL, 0), -EINVAL);
	CHECK(strstr(err, "invalid level 5") != NULL);
	CHECK_INT(entry("x", "vmm", -1, NULL, 0), -EINVAL);
	CHECK_INT(entry("\xff", "vmm", 0, NULL, 0), -EINVAL);
	CHECK_STR(err, "message is not valid UTF-8");
	CHECK_INT(entry("x", "\xed\xa0\x80", 0, NULL, 0), -EINVAL); /* surrogate */
	CHECK_STR(err, "component is not valid UTF-8");

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK_INT(entry(big, "vmm", 0, NULL, 0), -EINVAL);
	CHECK(strstr(err, "message too long") != NULL);
	big[LOG_MAX_MESSAGE] = 0; /* exactly the limit */
	CHECK_INT(entry(big, "vmm", 0, NULL, 0), 0);

	big[LOG_MAX_COMPONENT + 1] = 0;
	CHECK_INT(entry("x", big, 0, NULL, 0), -EINVAL);
	CHECK(strstr(err, "component too long") != NULL);

	CHECK_INT(entry("x", "vmm", 0, empty_id, 1), -EINVAL);
	CHECK_STR(err, "empty related object id");
	CHECK_INT(entry("x", "vmm", 0, bad_utf8_id, 1), -EINVAL);
	for (size_t i = 0; i <= LOG_MAX_OBJECT_IDS; i++)
		many[i] = "vm";
	CHECK_INT(entry("x", "vmm", 0, many, LOG_MAX_OBJECT_IDS), 0);
	CHECK_INT(entry("x", "vmm", 0, many, LOG_MAX_OBJECT_IDS + 1), -EINVAL);
	CHECK(strstr(err, "too many related object ids") != NULL);
	memset(long_id, 'i', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = 0;
	many[0] = long_id;
	CHECK_INT(entry("x", "vmm", 0, many, 1), -EINVAL);
	CHECK(strstr(err, "related object id too long") != NULL);
}

static void test_query(void)
{
	Mvirt__Log__QueryRequest q = MVIRT__LOG__QUERY_REQUEST__INIT;
	Mvirt__Log__LogLevel levels[] = { MVIRT__LOG__LOG_LEVEL__INFO,
					  MVIRT__LOG__LOG_LEVEL__AUDIT };

	CHECK_INT(log_validate_query(&q, err, sizeof(err)), 0);
	q.levels = levels;
	q.n_levels = 2;
	CHECK_INT(log_validate_query(&q, err, sizeof(err)), 0);
	levels[1] = (Mvirt__Log__LogLevel)7;
	CHECK_INT(log_validate_query(&q, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "invalid level 7") != NULL);
	q.n_levels = 0;

	q._start_time_ns_case = MVIRT__LOG__QUERY_REQUEST___START_TIME_NS_START_TIME_NS;
	q.start_time_ns = 10;
	CHECK_INT(log_validate_query(&q, err, sizeof(err)), 0);
	q._end_time_ns_case = MVIRT__LOG__QUERY_REQUEST___END_TIME_NS_END_TIME_NS;
	q.end_time_ns = 10; /* equal bounds: one instant */
	CHECK_INT(log_validate_query(&q, err, sizeof(err)), 0);
	q.end_time_ns = 9;
	CHECK_INT(log_validate_query(&q, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "start_time_ns is after end_time_ns");
}

int main(void)
{
	test_entry();
	test_query();
	return test_done();
}
