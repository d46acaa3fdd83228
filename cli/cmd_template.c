/* SPDX-License-Identifier: MIT */
/*
 * mvirt template import|list|delete|clone|promote and mvirt import
 * list|get|cancel|watch: base images of mvirt-zfs and the jobs that import
 * them. Both nouns share the following of a running import (a progress bar
 * on a terminal, plain lines otherwise), so they share this file.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "size.h"
#include "storage.h"
#include "table.h"
#include "timefmt.h"

static const char usage_import[] =
	"Usage: mvirt template import NAME SOURCE [OPTIONS]\n"
	"\n"
	"Import a disk image as the template NAME. SOURCE is a local file on the\n"
	"storage host (below one of mvirt-zfs's --import-root directories) or an\n"
	"http:// or https:// URL; raw, qcow2, and raw compressed as .xz or .gz.\n"
	"\n"
	"Follows the import until it ends: a progress bar on a terminal, otherwise\n"
	"one line per update (phase, bytes done, bytes expected; 0 = unknown).\n"
	"Ctrl-C stops watching, not the import: 'mvirt import cancel ID' stops it.\n"
	"Exits 0 once the template exists, 1 if the import failed or was cancelled.\n"
	"\n"
	"Options:\n"
	"      --size SIZE     size of the image (default: detected)\n"
	"      --sha256 HEX    expected SHA-256 of the source bytes (64 hex digits)\n"
	"  -d, --detach        print the import job's id and return at once\n"
	"      --json          JSON output (one job object per line while following)\n"
	"  -h, --help          show this help\n";

static const char usage_template_list[] =
	"Usage: mvirt template list [--json]\n"
	"\n"
	"Show every template, newest first, with the number of volumes cloned from it.\n"
	CLI_OPTIONS_JSON_HELP;

static const char usage_template_delete[] =
	"Usage: mvirt template delete NAME [--json]\n"
	"\n"
	"Delete a template. Volumes cloned from it keep working; its data go once\n"
	"the last of them is deleted.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_clone[] =
	"Usage: mvirt template clone TEMPLATE NEW_VOLUME [--size SIZE] [--json]\n"
	"\n"
	"Create the volume NEW_VOLUME as a copy-on-write clone of TEMPLATE (instant,\n"
	"whatever the template's size) and print it.\n"
	"\n"
	"Options:\n"
	"  -s, --size SIZE   grow the clone to SIZE (at least the template's size)\n"
	"      --json        print the volume as JSON\n"
	"  -h, --help        show this help\n";

static const char usage_promote[] =
	"Usage: mvirt template promote VOLUME SNAPSHOT TEMPLATE [--json]\n"
	"\n"
	"Make the snapshot SNAPSHOT of VOLUME the template TEMPLATE and print it.\n"
	"The snapshot cannot be deleted while the template exists.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_import_list[] =
	"Usage: mvirt import list [--all] [--json]\n"
	"\n"
	"Show the image imports that are running (with --all: finished ones too),\n"
	"newest first.\n"
	"\n"
	"Options:\n"
	"  -a, --all    finished imports too\n"
	"      --json   JSON output\n"
	"  -h, --help   show this help\n";

static const char usage_import_get[] =
	"Usage: mvirt import get ID [--json]\n"
	"\n"
	"Show an image import job.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_import_cancel[] =
	"Usage: mvirt import cancel ID [--json]\n"
	"\n"
	"Stop a running import in whatever phase it is; what it wrote is removed.\n"
	"A job that has already finished is left as it is.\n" CLI_OPTIONS_JSON_HELP;

static const char usage_import_watch[] =
	"Usage: mvirt import watch ID [--json]\n"
	"\n"
	"Follow an import until it ends, as 'mvirt template import' does: a progress\n"
	"bar on a terminal, otherwise one line per update (phase, bytes done, bytes\n"
	"expected). Ctrl-C stops watching, not the import ('mvirt import cancel ID').\n"
	"Exits 0 once the template exists, 1 if the import failed or was cancelled.\n"
	CLI_OPTIONS_JSON_HELP;

/* --- following an import ------------------------------------------------ */

/* What the SIGINT handler says: the job goes on. Written before the handler is set. */
static char interrupt_note[160];

static void on_interrupt(int sig)
{
	ssize_t n = write(STDERR_FILENO, interrupt_note, strlen(interrupt_note));

	(void)n;
	/* SA_RESETHAND restored the default action: die of the signal, as expected of Ctrl-C */
	raise(sig);
}

static void interrupt_note_install(const char *job_id)
{
	struct sigaction sa = { .sa_handler = on_interrupt, .sa_flags = SA_RESETHAND };

	snprintf(interrupt_note, sizeof(interrupt_note),
		 "\nmvirt: stopped watching; the import goes on ('mvirt import cancel %s' stops it)\n",
		 job_id);
	sigaction(SIGINT, &sa, NULL);
}

/* The progress of one phase as the terminal line shows it. */
struct progress {
	Mvirt__Zfs__ImportJobState phase;
	uint64_t phase_start_bytes; /* bytes_written when the phase was first seen */
	uint64_t phase_start_ns;    /* monotonic */
	bool drawn;                 /* a line without its newline is on the terminal */
};

static int terminal_columns(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* "0:42", "12:03", "2:05:09" */
static void duration_format(uint64_t s, char *buf, size_t n)
{
	if (s >= 3600)
		snprintf(buf, n, "%" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s / 60 % 60),
			 (unsigned)(s % 60));
	else
		snprintf(buf, n, "%u:%02u", (unsigned)(s / 60), (unsigned)(s % 60));
}

/*
 * Redraw the terminal line: phase, bar, bytes/total, percentage, rate, ETA.
 * The rate is the average since the phase was first seen: updates come
 * about once a second, too seldom for a smoother estimate to mean more.
 */
static void progress_draw(struct progress *p, const Mvirt__Zfs__ImportJob *j)
{
	char done[SIZE_STR_MAX], total[SIZE_STR_MAX], rate[SIZE_STR_MAX], eta[32];
	char line[256], bar[64];
	uint64_t now = now_monotonic_ns(), elapsed_ns, bytes_per_s = 0;
	unsigned percent = 0;
	int len, bar_width;

	if (!p->drawn || j->state != p->phase) {
		p->phase = j->state;
		p->phase_start_bytes = j->bytes_written;
		p->phase_start_ns = now;
	}
	elapsed_ns = now - p->phase_start_ns;
	if (elapsed_ns >= 500000000 && j->bytes_written > p->phase_start_bytes)
		bytes_per_s = (uint64_t)((unsigned __int128)(j->bytes_written - p->phase_start_bytes) *
					 1000000000 / elapsed_ns);

	/* the phase name padded to 12 columns ("downloading" is the longest) */
	len = snprintf(line, sizeof(line), "%-11s ", zfs_import_state_name(j->state));
	if (j->total_bytes) {
		percent = (unsigned)MIN(100, (unsigned __int128)j->bytes_written * 100 / j->total_bytes);
		len += snprintf(line + len, sizeof(line) - len, "%s / %s  %3u%%",
				size_format(j->bytes_written, done), size_format(j->total_bytes, total),
				percent);
	} else if (j->state != MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_PENDING) {
		len += snprintf(line + len, sizeof(line) - len, "%s",
				size_format(j->bytes_written, done));
	}
	if (bytes_per_s) {
		len += snprintf(line + len, sizeof(line) - len, "  %s/s", size_format(bytes_per_s, rate));
		if (j->total_bytes > j->bytes_written) {
			duration_format((j->total_bytes - j->bytes_written) / bytes_per_s, eta, sizeof(eta));
			len += snprintf(line + len, sizeof(line) - len, "  ETA %s", eta);
		}
	}

	/* the bar goes after those 12 columns, as wide as the terminal leaves room for */
	bar_width = MIN(30, terminal_columns() - 1 - len - 3);
	if (j->total_bytes && bar_width >= 10) {
		int filled = (int)(percent * (unsigned)bar_width / 100);
		memset(bar, '#', (size_t)filled);
		memset(bar + filled, '-', (size_t)(bar_width - filled));
		bar[bar_width] = '\0';
		printf("\r%.12s[%s] %s\033[K", line, bar, line + 12);
	} else {
		printf("\r%s\033[K", line);
	}
	fflush(stdout);
	p->drawn = true;
}

/* One update: a JSON line, a redrawn terminal line, or a plain line. */
static void progress_show(struct cli *cli, bool tty, struct progress *p,
			  const Mvirt__Zfs__ImportJob *j)
{
	if (cli->json) {
		cli_json_print(zfs_import_job_json(j), true);
	} else if (tty && !zfs_import_state_terminal(j->state)) {
		progress_draw(p, j);
	} else if (tty) {
		printf("\r%s\033[K\n", zfs_import_state_name(j->state));
		p->drawn = false;
	} else {
		printf("%s %" PRIu64 " %" PRIu64 "\n", zfs_import_state_name(j->state), j->bytes_written,
		       j->total_bytes);
		fflush(stdout);
	}
}

/* What a finished job means for the user and the exit code. */
static int import_outcome(struct cli *cli, const char *noun, const Mvirt__Zfs__ImportJob *j)
{
	switch (j->state) {
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_COMPLETED:
		if (!cli->json && j->_template_case && j->template_)
			zfs_template_print(j->template_);
		return EXIT_OK;
	case MVIRT__ZFS__IMPORT_JOB_STATE__IMPORT_JOB_STATE_FAILED:
		return cli_fail(noun, "import of '%s' failed: %s", j->template_name,
				j->_error_case ? j->error : "unknown error");
	default:
		return cli_fail(noun, "import of '%s' was cancelled", j->template_name);
	}
}

/* Follow the job with WatchImportJob until it is terminal. */
static int import_follow(struct cli *cli, const char *noun, const char *job_id)
{
	Mvirt__Zfs__GetImportJobRequest req = MVIRT__ZFS__GET_IMPORT_JOB_REQUEST__INIT;
	ProtobufCMessage *last = NULL;
	struct grpc_client *client;
	struct grpc_stream *s = NULL;
	struct progress progress = { 0 };
	bool tty = isatty(STDOUT_FILENO);
	int r, ret;

	client = cli_connect(cli, DAEMON_ZFS);
	if (!client)
		return EXIT_FAILED;
	interrupt_note_install(job_id);
	req.id = (char *)job_id;
	/* no deadline: an import of a large image takes as long as it takes */
	r = grpc_stream_open(client, "/mvirt.zfs.ZfsService/WatchImportJob",
			     &mvirt__zfs__import_job__descriptor, 0, &s);
	if (r == 0)
		r = grpc_stream_send(s, &req.base);
	if (r == 0)
		r = grpc_stream_close_send(s);
	while (r == 0) {
		ProtobufCMessage *m = NULL;
		r = grpc_stream_recv(s, &m, -1);
		if (r <= 0)
			break;
		if (last)
			protobuf_c_message_free_unpacked(last, NULL);
		last = m;
		progress_show(cli, tty, &progress, (const Mvirt__Zfs__ImportJob *)m);
		r = 0;
	}
	if (progress.drawn)
		putchar('\n');

	const Mvirt__Zfs__ImportJob *j = (const Mvirt__Zfs__ImportJob *)last;
	if (r < 0)
		ret = cli_fail(noun, "connection to %s failed: %s", cli->endpoint[DAEMON_ZFS],
			       strerror(-r));
	else if (grpc_stream_status(s)->code != GRPC_OK)
		ret = cli_fail_status(noun, grpc_stream_status(s));
	else if (!j || !zfs_import_state_terminal(j->state))
		ret = cli_fail(noun, "the watch of import %s ended before the import did", job_id);
	else
		ret = import_outcome(cli, noun, j);
	signal(SIGINT, SIG_DFL);
	if (last)
		protobuf_c_message_free_unpacked(last, NULL);
	grpc_stream_free(s);
	grpc_client_free(client);
	return ret;
}

/* --- template ----------------------------------------------------------- */

static bool is_sha256_hex(const char *s)
{
	size_t n = strspn(s, "0123456789abcdefABCDEF");

	return n == 64 && s[n] == '\0';
}

static int template_import(struct cli *cli, int argc, char **argv)
{
	enum { O_SIZE = 0x100, O_SHA256, O_JSON };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, O_SIZE },
		{ "sha256", required_argument, NULL, O_SHA256 },
		{ "detach", no_argument, NULL, 'd' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt template import";
	Mvirt__Zfs__ImportTemplateRequest req = MVIRT__ZFS__IMPORT_TEMPLATE_REQUEST__INIT;
	_cleanup_free_ char *source = NULL, *job_id = NULL;
	ProtobufCMessage *resp = NULL;
	bool detach = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":dh", opts, NULL)) != -1) {
		switch (c) {
		case O_SIZE:
			r = size_parse(optarg, &req.size_bytes);
			if (r < 0)
				return cli_bad_size(cmd, "--size", optarg, r);
			req._size_bytes_case = MVIRT__ZFS__IMPORT_TEMPLATE_REQUEST___SIZE_BYTES_SIZE_BYTES;
			break;
		case O_SHA256:
			if (!is_sha256_hex(optarg))
				return cli_usage(cmd, "invalid --sha256 '%s' (64 hex digits)", optarg);
			req._sha256_case = MVIRT__ZFS__IMPORT_TEMPLATE_REQUEST___SHA256_SHA256;
			req.sha256 = optarg;
			break;
		case 'd':
			detach = true;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage_import, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	r = cli_verb_positional(cmd, "NAME SOURCE", argc, argv);
	if (r >= 0)
		return r;
	req.name = argv[optind];
	/* the daemon wants an absolute path; it usually runs on this host, so
	 * a relative one is taken as relative to here */
	if (!strstr(argv[optind + 1], "://") && argv[optind + 1][0] != '/') {
		_cleanup_free_ char *cwd = getcwd(NULL, 0);
		if (!cwd)
			return cli_fail("template", "cannot resolve '%s': %s", argv[optind + 1],
					strerror(errno));
		const char *rel = argv[optind + 1];
		while (startswith(rel, "./"))
			rel += 2;
		source = xasprintf("%s/%s", cwd, rel);
	} else {
		source = xstrdup(argv[optind + 1]);
	}
	req.source = source;

	if (zfs_call(cli, "template", "ImportTemplate", &req.base,
		     &mvirt__zfs__import_job__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (detach) {
		if (cli->json)
			cli_json_print(zfs_import_job_json((const Mvirt__Zfs__ImportJob *)resp), false);
		else
			printf("%s\n", ((const Mvirt__Zfs__ImportJob *)resp)->id);
		protobuf_c_message_free_unpacked(resp, NULL);
		return EXIT_OK;
	}
	job_id = xstrdup(((const Mvirt__Zfs__ImportJob *)resp)->id);
	protobuf_c_message_free_unpacked(resp, NULL);
	if (!cli->json)
		printf("Import job %s: template '%s' from %s\n", job_id, req.name, source);
	fflush(stdout);
	return import_follow(cli, "template", job_id);
}

static int template_list(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__ListTemplatesRequest req = MVIRT__ZFS__LIST_TEMPLATES_REQUEST__INIT;
	const Mvirt__Zfs__ListTemplatesResponse *list;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt template list", usage_template_list, "", argc, argv);
	if (r >= 0)
		return r;
	if (zfs_call(cli, "template", "ListTemplates", &req.base,
		     &mvirt__zfs__list_templates_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	list = (const Mvirt__Zfs__ListTemplatesResponse *)resp;
	if (cli->json) {
		json_t *all = json_array();
		for (size_t i = 0; i < list->n_templates; i++)
			json_array_append_new(all, zfs_template_json(list->templates[i]));
		cli_json_print(all, false);
	} else {
		_cleanup_table_ struct table *t =
			table_new(6, "NAME", "SIZE", "CLONES", "FROM VOLUME", "CREATED", "ID");
		for (size_t i = 0; i < list->n_templates; i++) {
			const Mvirt__Zfs__Template *tp = list->templates[i];
			char size[SIZE_STR_MAX], clones[16];
			snprintf(clones, sizeof(clones), "%" PRIu32, tp->clone_count);
			table_add(t, tp->name, size_format(tp->size_bytes, size), clones,
				  tp->source_volume[0] ? tp->source_volume : "-", tp->created_at,
				  tp->id);
		}
		table_print(t, stdout);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int template_delete(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__DeleteTemplateRequest req = MVIRT__ZFS__DELETE_TEMPLATE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt template delete", usage_template_delete, "NAME", argc, argv);
	if (r >= 0)
		return r;
	req.name = argv[optind];
	if (zfs_call(cli, "template", "DeleteTemplate", &req.base,
		     &mvirt__zfs__delete_template_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(json_pack("{s:b}", "deleted",
					 ((Mvirt__Zfs__DeleteTemplateResponse *)resp)->deleted),
			       false);
	else
		printf("Template '%s' deleted.\n", req.name);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int template_clone(struct cli *cli, int argc, char **argv)
{
	enum { O_JSON = 0x100 };
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt template clone";
	Mvirt__Zfs__CloneFromTemplateRequest req = MVIRT__ZFS__CLONE_FROM_TEMPLATE_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			r = size_parse(optarg, &req.size_bytes);
			if (r < 0)
				return cli_bad_size(cmd, "--size", optarg, r);
			req._size_bytes_case = MVIRT__ZFS__CLONE_FROM_TEMPLATE_REQUEST___SIZE_BYTES_SIZE_BYTES;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage_clone, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	r = cli_verb_positional(cmd, "TEMPLATE NEW_VOLUME", argc, argv);
	if (r >= 0)
		return r;
	req.template_name = argv[optind];
	req.new_volume_name = argv[optind + 1];
	if (zfs_call(cli, "template", "CloneFromTemplate", &req.base,
		     &mvirt__zfs__volume__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(zfs_volume_json((const Mvirt__Zfs__Volume *)resp), false);
	else
		zfs_volume_print((const Mvirt__Zfs__Volume *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int template_promote(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__PromoteSnapshotRequest req = MVIRT__ZFS__PROMOTE_SNAPSHOT_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt template promote", usage_promote, "VOLUME SNAPSHOT TEMPLATE",
			  argc, argv);
	if (r >= 0)
		return r;
	req.volume_name = argv[optind];
	req.snapshot_name = argv[optind + 1];
	req.template_name = argv[optind + 2];
	if (zfs_call(cli, "template", "PromoteSnapshotToTemplate", &req.base,
		     &mvirt__zfs__template__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(zfs_template_json((const Mvirt__Zfs__Template *)resp), false);
	else
		zfs_template_print((const Mvirt__Zfs__Template *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

int cmd_template(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "import", "import a disk image (file or URL) as a template", template_import },
		{ "list", "show every template", template_list },
		{ "delete", "delete a template (its clones keep working)", template_delete },
		{ "clone", "create a volume as a clone of a template", template_clone },
		{ "promote", "make a volume's snapshot a template", template_promote },
	};

	return cli_verb_dispatch(cli, "template", "Templates: read-only base images of mvirt-zfs.",
				 verbs, ARRAY_SIZE(verbs), argc, argv);
}

/* --- import ------------------------------------------------------------- */

/* "1.5 GiB / 4 GiB (37%)", "12 MiB" (total unknown) */
static void job_progress_format(const Mvirt__Zfs__ImportJob *j, char *buf, size_t n)
{
	char done[SIZE_STR_MAX], total[SIZE_STR_MAX];

	if (j->total_bytes)
		snprintf(buf, n, "%s / %s (%u%%)", size_format(j->bytes_written, done),
			 size_format(j->total_bytes, total),
			 (unsigned)MIN(100, (unsigned __int128)j->bytes_written * 100 / j->total_bytes));
	else
		snprintf(buf, n, "%s", size_format(j->bytes_written, done));
}

static void import_job_print(const Mvirt__Zfs__ImportJob *j)
{
	char progress[96];

	job_progress_format(j, progress, sizeof(progress));
	printf("ID:           %s\n"
	       "Template:     %s\n"
	       "Source:       %s\n"
	       "State:        %s\n"
	       "Progress:     %s (%" PRIu64 " of %" PRIu64 " bytes)\n"
	       "Created:      %s\n",
	       j->id, j->template_name, j->source, zfs_import_state_name(j->state), progress,
	       j->bytes_written, j->total_bytes, j->created_at);
	if (j->_completed_at_case)
		printf("Finished:     %s\n", j->completed_at);
	if (j->_error_case)
		printf("Error:        %s\n", j->error);
	if (j->_template_case && j->template_) {
		printf("\nThe template:\n");
		zfs_template_print(j->template_);
	}
}

static int import_list(struct cli *cli, int argc, char **argv)
{
	enum { O_JSON = 0x100 };
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt import list";
	Mvirt__Zfs__ListImportJobsRequest req = MVIRT__ZFS__LIST_IMPORT_JOBS_REQUEST__INIT;
	const Mvirt__Zfs__ListImportJobsResponse *list;
	ProtobufCMessage *resp = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":ah", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			req.include_completed = true;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage_import_list, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	r = cli_verb_positional(cmd, "", argc, argv);
	if (r >= 0)
		return r;
	if (zfs_call(cli, "import", "ListImportJobs", &req.base,
		     &mvirt__zfs__list_import_jobs_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	list = (const Mvirt__Zfs__ListImportJobsResponse *)resp;
	if (cli->json) {
		json_t *all = json_array();
		for (size_t i = 0; i < list->n_jobs; i++)
			json_array_append_new(all, zfs_import_job_json(list->jobs[i]));
		cli_json_print(all, false);
	} else {
		_cleanup_table_ struct table *t = table_new(6, "ID", "TEMPLATE", "STATE", "PROGRESS",
							    "CREATED", "SOURCE");
		for (size_t i = 0; i < list->n_jobs; i++) {
			const Mvirt__Zfs__ImportJob *j = list->jobs[i];
			char progress[96] = "-"; /* a finished job's figures are old news */
			if (!zfs_import_state_terminal(j->state))
				job_progress_format(j, progress, sizeof(progress));
			table_add(t, j->id, j->template_name, zfs_import_state_name(j->state),
				  progress, j->created_at, j->source);
		}
		table_print(t, stdout);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int import_get(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__GetImportJobRequest req = MVIRT__ZFS__GET_IMPORT_JOB_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt import get", usage_import_get, "ID", argc, argv);
	if (r >= 0)
		return r;
	req.id = argv[optind];
	if (zfs_call(cli, "import", "GetImportJob", &req.base, &mvirt__zfs__import_job__descriptor,
		     &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (cli->json)
		cli_json_print(zfs_import_job_json((const Mvirt__Zfs__ImportJob *)resp), false);
	else
		import_job_print((const Mvirt__Zfs__ImportJob *)resp);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int import_cancel(struct cli *cli, int argc, char **argv)
{
	Mvirt__Zfs__CancelImportJobRequest req = MVIRT__ZFS__CANCEL_IMPORT_JOB_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	bool cancelled;
	int r;

	r = cli_verb_args(cli, "mvirt import cancel", usage_import_cancel, "ID", argc, argv);
	if (r >= 0)
		return r;
	req.id = argv[optind];
	if (zfs_call(cli, "import", "CancelImportJob", &req.base,
		     &mvirt__zfs__cancel_import_job_response__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	cancelled = ((const Mvirt__Zfs__CancelImportJobResponse *)resp)->cancelled;
	if (cli->json)
		cli_json_print(json_pack("{s:b}", "cancelled", cancelled), false);
	else if (cancelled)
		printf("Import job %s cancelled.\n", req.id);
	else
		printf("Import job %s had already finished.\n", req.id);
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static int import_watch(struct cli *cli, int argc, char **argv)
{
	int r = cli_verb_args(cli, "mvirt import watch", usage_import_watch, "ID", argc, argv);

	if (r >= 0)
		return r;
	return import_follow(cli, "import", argv[optind]);
}

int cmd_import(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "list", "show running (--all: also finished) imports", import_list },
		{ "get", "show an import job", import_get },
		{ "cancel", "stop a running import", import_cancel },
		{ "watch", "follow an import until it ends", import_watch },
	};

	return cli_verb_dispatch(cli, "import",
				 "Image import jobs of mvirt-zfs ('mvirt template import' starts them).",
				 verbs, ARRAY_SIZE(verbs), argc, argv);
}
