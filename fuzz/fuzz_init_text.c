/* SPDX-License-Identifier: MIT */
/*
 * Every text parser of the init over the same bytes: the kernel command
 * line (and each mvirt.run= value it yields, as the init then reads it),
 * word splitting, run specs, /etc/mvirt/init.conf, cloud-init meta-data and
 * host names. Besides not crashing, what they accept must hold their
 * documented promises.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "cmdline.h"
#include "config.h"
#include "log.h"
#include "seed.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_argv(char **argv, size_t argc, size_t input_len)
{
	if (argc == 0 || argc > CMDLINE_MAX_ARGS || argv[argc])
		abort();
	for (size_t i = 0; i < argc; i++)
		if (strlen(argv[i]) > input_len)
			abort();
}

static void check_run_spec(const char *s)
{
	enum restart_policy policy;
	char **argv = NULL;
	size_t argc = 0;

	if (run_spec_parse(s, &policy, &argv, &argc) < 0) {
		if (argv)
			abort();
		return;
	}
	check_argv(argv, argc, strlen(s));
	if (argv[0][0] != '/' || (unsigned)policy > RESTART_ALWAYS)
		abort();
	free(argv);
}

static void check_split(const char *s)
{
	char **argv;
	size_t argc;
	int r = split_words(s, &argv, &argc);

	if (r < 0) {
		if (r != -EINVAL && r != -E2BIG)
			abort();
		return;
	}
	check_argv(argv, argc, strlen(s));
	free(argv);
}

static void check_cmdline(const char *s)
{
	struct cmdline c;

	if (cmdline_parse(s, &c) < 0)
		abort();
	if (c.n_run > CMDLINE_MAX_RUN || c.net_timeout_s > 3600)
		abort();
	if (c.hostname && !hostname_valid(c.hostname))
		abort();
	for (size_t i = 0; i < c.n_run; i++)
		check_run_spec(c.run[i]);
	cmdline_free(&c);
}

static void check_config(const char *s)
{
	struct init_config c;
	char err[160];

	if (config_parse(s, &c, err, sizeof(err)) < 0) {
		/* every refusal names its line */
		if (!startswith(err, "line ") || c.n_services != 0)
			abort();
		return;
	}
	if (c.n_services > CONFIG_MAX_SERVICES)
		abort();
	for (size_t i = 0; i < c.n_services; i++) {
		const struct service_spec *svc = &c.services[i];
		if (!service_name_valid(svc->name) || !svc->argv || svc->argv[0][0] != '/' ||
		    (unsigned)svc->restart > RESTART_ALWAYS)
			abort();
		check_argv(svc->argv, svc->argc, strlen(s));
	}
	config_free(&c);
}

static void check_meta_value(const char *v, size_t size)
{
	size_t n = strnlen(v, size);

	if (n == size)
		abort(); /* not terminated */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			abort();
}

static void check_hostname(const char *s)
{
	size_t n = strlen(s);

	if (!hostname_valid(s))
		return;
	if (n == 0 || n > 64 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	struct seed_meta meta;
	enum restart_policy policy;

	log_max_level = LOG_ERR; /* the parsers warn about what they ignore */
	memcpy(s, data, size);
	s[size] = 0;

	check_cmdline(s);
	check_split(s);
	check_run_spec(s);
	check_config(s);
	check_hostname(s);
	restart_policy_parse(s, &policy);

	/* meta-data is read with its length, not as a C string: give it the
	 * fuzzer's own buffer so that ASan sees any read past the end */
	if (seed_meta_parse((const char *)data, size, &meta) < 0)
		abort();
	check_meta_value(meta.hostname, sizeof(meta.hostname));
	check_meta_value(meta.instance_id, sizeof(meta.instance_id));

	free(s);
	return 0;
}
