/* SPDX-License-Identifier: MIT */
/* mvirt log list|add: the audit log (mvirt-log). */
#include <getopt.h>
#include <stdio.h>
#include <strings.h>

#include "cli.h"
#include "log.pb-c.h"
#include "timefmt.h"

static const char *const level_names[] = { "INFO", "WARN", "ERROR", "DEBUG", "AUDIT" };

/* "info", "WARN", "warning", "3"... → 0-4, or -EINVAL */
static int level_parse(const char *s)
{
	unsigned long long v;

	if (parse_u64(s, 4, &v) == 0)
		return (int)v;
	for (int i = 0; i < (int)ARRAY_SIZE(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (strcasecmp(s, "warning") == 0)
		return 1;
	return -EINVAL;
}

static const char *level_name(int level)
{
	return level >= 0 && level < (int)ARRAY_SIZE(level_names) ? level_names[level] : "?";
}

static void usage_log(void)
{
	printf("Usage: mvirt log <verb> [OPTIONS]\n"
	       "\n"
	       "The audit log kept by mvirt-log.\n"
	       "\n"
	       "Verbs:\n"
	       "  list   show entries, oldest first (the newest --limit of those matching)\n"
	       "  add    write an entry\n"
	       "\n"
	       "See 'mvirt log <verb> --help'.\n");
}

static void usage_list(void)
{
	printf("Usage: mvirt log list [OPTIONS]\n"
	       "\n"
	       "Show the newest matching audit log entries, oldest first.\n"
	       "\n"
	       "Options:\n"
	       "      --object ID        only entries linked to this object id\n"
	       "      --since TIME       entries at or after TIME\n"
	       "      --until TIME       entries at or before TIME\n"
	       "      --component NAME   only entries of this component (vmm, zfs, net, cli...)\n"
	       "      --level LEVEL      only this level: info, warn, error, debug, audit\n"
	       "                         (repeatable, or comma-separated)\n"
	       "      --limit N          at most N entries (default 100, at most 10000)\n"
	       "      --reverse          newest first\n"
	       "  -f, --follow           keep printing new entries as they arrive\n"
	       "      --json             JSON output (one object per line with --follow)\n"
	       "  -h, --help             show this help\n"
	       "\n"
	       "TIME is RFC 3339 (2025-01-02T03:04:05Z, 2025-01-02), 'now', or relative to\n"
	       "now: -1h, -30m, -2d, -1h30m, -1w.\n");
}

static void usage_add(void)
{
	printf("Usage: mvirt log add --message TEXT [OPTIONS]\n"
	       "\n"
	       "Write an entry to the audit log and print its id.\n"
	       "\n"
	       "Options:\n"
	       "  -m, --message TEXT     the entry's text (required)\n"
	       "      --object ID        link the entry to this object id (repeatable)\n"
	       "      --level LEVEL      info (default), warn, error, debug or audit\n"
	       "      --component NAME   producer label (default cli)\n"
	       "      --json             print {\"id\": ...}\n"
	       "  -h, --help             show this help\n");
}

static json_t *entry_json(const Mvirt__Log__LogEntry *e)
{
	char t[RFC3339_LEN] = "";
	json_t *ids = json_array();

	rfc3339_format(e->timestamp_ns, t);
	for (size_t i = 0; i < e->n_related_object_ids; i++)
		json_array_append_new(ids, json_string(e->related_object_ids[i]));
	return json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:o}", "id", e->id, "timestamp_ns",
			 (json_int_t)e->timestamp_ns, "time", t, "level", level_name(e->level),
			 "component", e->component, "message", e->message, "related_object_ids",
			 ids);
}

static void entry_print(const Mvirt__Log__LogEntry *e)
{
	char t[RFC3339_LEN] = "";

	/* millisecond precision is what a reader needs; --json has it all */
	if (rfc3339_format(e->timestamp_ns, t) == 0) {
		t[23] = 'Z';
		t[24] = '\0';
	}
	printf("%s  %-5s  %-8s  %s", t, level_name(e->level), e->component, e->message);
	if (e->n_related_object_ids) {
		printf("  [");
		for (size_t i = 0; i < e->n_related_object_ids; i++)
			printf("%s%s", i ? ", " : "", e->related_object_ids[i]);
		printf("]");
	}
	putchar('\n');
}

static int add_levels(Mvirt__Log__QueryRequest *q, const char *arg)
{
	_cleanup_free_ char *copy = xstrdup(arg);
	char *save = NULL;

	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int l = level_parse(tok);
		if (l < 0)
			return -EINVAL;
		q->levels = xrealloc(q->levels, (q->n_levels + 1) * sizeof(*q->levels));
		q->levels[q->n_levels++] = (Mvirt__Log__LogLevel)l;
	}
	return 0;
}

static int log_list(struct cli *cli, int argc, char **argv)
{
	enum { O_OBJECT = 0x100, O_SINCE, O_UNTIL, O_COMPONENT, O_LEVEL, O_LIMIT, O_REVERSE, O_JSON };
	static const struct option opts[] = {
		{ "object", required_argument, NULL, O_OBJECT },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "component", required_argument, NULL, O_COMPONENT },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "reverse", no_argument, NULL, O_REVERSE },
		{ "follow", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt log list";
	Mvirt__Log__QueryRequest q = MVIRT__LOG__QUERY_REQUEST__INIT;
	_cleanup_free_ Mvirt__Log__LogLevel *levels = NULL;
	int64_t now = now_realtime_ns(), t;
	unsigned long long v;
	int c, r, ret = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, ":fh", opts, NULL)) != -1) {
		switch (c) {
		case O_OBJECT:
			q._object_id_case = MVIRT__LOG__QUERY_REQUEST___OBJECT_ID_OBJECT_ID;
			q.object_id = optarg;
			break;
		case O_SINCE:
		case O_UNTIL:
			if (time_parse(optarg, now, &t) < 0)
				return cli_usage(cmd, "invalid time '%s'", optarg);
			if (c == O_SINCE) {
				q._start_time_ns_case = MVIRT__LOG__QUERY_REQUEST___START_TIME_NS_START_TIME_NS;
				q.start_time_ns = t;
			} else {
				q._end_time_ns_case = MVIRT__LOG__QUERY_REQUEST___END_TIME_NS_END_TIME_NS;
				q.end_time_ns = t;
			}
			break;
		case O_COMPONENT:
			q._component_case = MVIRT__LOG__QUERY_REQUEST___COMPONENT_COMPONENT;
			q.component = optarg;
			break;
		case O_LEVEL:
			r = add_levels(&q, optarg);
			levels = q.levels; /* freed on return */
			if (r < 0)
				return cli_usage(cmd, "invalid level '%s' (info, warn, error, debug, audit)",
						 optarg);
			break;
		case O_LIMIT:
			if (parse_u64(optarg, 10000, &v) < 0 || v == 0)
				return cli_usage(cmd, "invalid --limit '%s' (1-10000)", optarg);
			q.limit = (uint32_t)v;
			break;
		case O_REVERSE:
			q.descending = true;
			break;
		case 'f':
			q.follow = true;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			usage_list();
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (q._start_time_ns_case && q._end_time_ns_case && q.start_time_ns > q.end_time_ns)
		return cli_usage(cmd, "--since is after --until");

	struct grpc_client *client = cli_connect(cli, DAEMON_LOG);
	struct grpc_stream *s = NULL;
	json_t *all = cli->json && !q.follow ? json_array() : NULL;
	if (!client) {
		json_decref(all);
		return EXIT_FAILED;
	}
	r = grpc_stream_open(client, "/mvirt.log.LogService/Query",
				 &mvirt__log__log_entry__descriptor, q.follow ? 0 : cli->timeout_ms, &s);
	if (r == 0)
		r = grpc_stream_send(s, &q.base);
	if (r == 0)
		r = grpc_stream_close_send(s);
	while (r == 0) {
		ProtobufCMessage *m = NULL;
		r = grpc_stream_recv(s, &m, -1);
		if (r <= 0)
			break;
		const Mvirt__Log__LogEntry *e = (const Mvirt__Log__LogEntry *)m;
		if (all)
			json_array_append_new(all, entry_json(e));
		else if (cli->json)
			cli_json_print(entry_json(e), true);
		else
			entry_print(e);
		fflush(stdout);
		protobuf_c_message_free_unpacked(m, NULL);
		r = 0;
	}
	if (r < 0)
		ret = cli_fail("log", "connection to %s failed: %s", cli->endpoint[DAEMON_LOG],
			       strerror(-r));
	else if (grpc_stream_status(s)->code != GRPC_OK)
		ret = cli_fail_status("log", grpc_stream_status(s));
	else if (all)
		cli_json_print(TAKE_PTR(all), false);
	json_decref(all);
	grpc_stream_free(s);
	grpc_client_free(client);
	return ret;
}

static int log_add(struct cli *cli, int argc, char **argv)
{
	enum { O_OBJECT = 0x100, O_LEVEL, O_COMPONENT, O_JSON };
	static const struct option opts[] = {
		{ "message", required_argument, NULL, 'm' },
		{ "object", required_argument, NULL, O_OBJECT },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "component", required_argument, NULL, O_COMPONENT },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt log add";
	Mvirt__Log__LogEntry e = MVIRT__LOG__LOG_ENTRY__INIT;
	Mvirt__Log__LogRequest req = MVIRT__LOG__LOG_REQUEST__INIT;
	_cleanup_free_ char **ids = NULL;
	struct grpc_status st = { 0 };
	ProtobufCMessage *resp = NULL;
	int c, l, ret;

	e.component = "cli";
	optind = 1;
	while ((c = getopt_long(argc, argv, ":m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			e.message = optarg;
			break;
		case O_OBJECT:
			ids = xrealloc(ids, (e.n_related_object_ids + 1) * sizeof(char *));
			ids[e.n_related_object_ids++] = optarg;
			e.related_object_ids = ids;
			break;
		case O_LEVEL:
			l = level_parse(optarg);
			if (l < 0)
				return cli_usage(cmd, "invalid level '%s' (info, warn, error, debug, audit)",
						 optarg);
			e.level = l;
			break;
		case O_COMPONENT:
			e.component = optarg;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			usage_add();
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	if (optind < argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	if (!e.message[0])
		return cli_usage(cmd, "--message is required");

	struct grpc_client *client = cli_connect(cli, DAEMON_LOG);
	if (!client)
		return EXIT_FAILED;
	req.entry = &e;
	grpc_client_unary(client, "/mvirt.log.LogService/Log", &req.base,
			  &mvirt__log__log_response__descriptor, cli->timeout_ms, &resp, &st);
	if (st.code != GRPC_OK) {
		ret = cli_fail_status("log", &st);
	} else {
		const char *id = ((Mvirt__Log__LogResponse *)resp)->id;
		if (cli->json)
			cli_json_print(json_pack("{s:s}", "id", id), false);
		else
			printf("%s\n", id);
		ret = EXIT_OK;
	}
	if (resp)
		protobuf_c_message_free_unpacked(resp, NULL);
	grpc_status_clear(&st);
	grpc_client_free(client);
	return ret;
}

int cmd_log(struct cli *cli, int argc, char **argv)
{
	if (argc < 1) {
		usage_log();
		return EXIT_USAGE;
	}
	if (streq(argv[0], "list") || streq(argv[0], "ls"))
		return log_list(cli, argc, argv);
	if (streq(argv[0], "add"))
		return log_add(cli, argc, argv);
	if (streq(argv[0], "--help") || streq(argv[0], "-h") || streq(argv[0], "help")) {
		usage_log();
		return EXIT_OK;
	}
	return cli_usage("mvirt log", "unknown verb '%s'", argv[0]);
}
