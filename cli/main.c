/* SPDX-License-Identifier: MIT */
/*
 * mvirt: the command-line client. `mvirt [OPTIONS] <noun> <verb> [ARGS]`.
 * Exit codes: 0 success, 1 the operation failed, 2 usage error.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"

static const struct {
	const char *flag;
	const char *env;
	const char *socket;
} endpoints[DAEMON_COUNT] = {
	[DAEMON_VMM] = { "vmm-endpoint", "MVIRT_VMM_ENDPOINT", "vmm.sock" },
	[DAEMON_LOG] = { "log-endpoint", "MVIRT_LOG_ENDPOINT", "log.sock" },
	[DAEMON_ZFS] = { "zfs-endpoint", "MVIRT_ZFS_ENDPOINT", "zfs.sock" },
	[DAEMON_NET] = { "net-endpoint", "MVIRT_NET_ENDPOINT", "net.sock" },
};

static void usage(void)
{
	printf("Usage: mvirt [OPTIONS] <command> <verb> [ARGS]\n"
	       "\n"
	       "mvirt manages virtual machines through the mvirt daemons.\n"
	       "\n"
	       "Commands:\n"
	       "  vm            create, start, stop, list, get, delete virtual machines;\n"
	       "                attach disks and NICs; console, log, watch\n"
	       "  log list      show audit log entries (filters, --follow)\n"
	       "  log add       write an audit log entry\n"
	       "  volume        create, list, get, delete, resize volumes (VM disks)\n"
	       "  snapshot      create, list, delete, roll back snapshots of a volume\n"
	       "  template      import images as templates; list, delete, clone, promote\n"
	       "  import        list, get, cancel, watch image import jobs\n"
	       "  pool stats    size and usage of the storage pool\n"
	       "\n"
	       "Options:\n"
	       "      --log-endpoint EP   mvirt-log endpoint (env MVIRT_LOG_ENDPOINT)\n"
	       "      --vmm-endpoint EP   mvirt-vmm endpoint (env MVIRT_VMM_ENDPOINT)\n"
	       "      --zfs-endpoint EP   mvirt-zfs endpoint (env MVIRT_ZFS_ENDPOINT)\n"
	       "      --net-endpoint EP   mvirt-net endpoint (env MVIRT_NET_ENDPOINT)\n"
	       "      --run-dir DIR       directory of the daemons' default sockets\n"
	       "                          (env MVIRT_RUN_DIR, default /run/mvirt)\n"
	       "      --json              machine-readable output\n"
	       "      --timeout SECONDS   deadline of each call (default 30)\n"
	       "  -h, --help              show this help ('mvirt <command> --help' for more)\n"
	       "      --version           show the version\n"
	       "\n"
	       "Endpoints: unix:/path, host:port, [v6]:port or http://host:port.\n"
	       "Exit status: 0 success, 1 the operation failed, 2 usage error.\n");
}

enum { OPT_RUN_DIR = 0x100, OPT_JSON, OPT_TIMEOUT, OPT_VERSION, OPT_ENDPOINT };

int main(int argc, char **argv)
{
	struct option opts[] = {
		{ endpoints[DAEMON_VMM].flag, required_argument, NULL, OPT_ENDPOINT + DAEMON_VMM },
		{ endpoints[DAEMON_LOG].flag, required_argument, NULL, OPT_ENDPOINT + DAEMON_LOG },
		{ endpoints[DAEMON_ZFS].flag, required_argument, NULL, OPT_ENDPOINT + DAEMON_ZFS },
		{ endpoints[DAEMON_NET].flag, required_argument, NULL, OPT_ENDPOINT + DAEMON_NET },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	struct cli cli = { .timeout_ms = 30000 };
	const char *flag_endpoint[DAEMON_COUNT] = { 0 };
	const char *run_dir = getenv("MVIRT_RUN_DIR");
	unsigned long long v;
	int c, ret;

	/* '+': stop at the command, so each command parses its own options;
	 * ':' and opterr = 0: we word option errors ourselves (cli_bad_option) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_RUN_DIR:
			run_dir = optarg;
			break;
		case OPT_JSON:
			cli.json = true;
			break;
		case OPT_TIMEOUT:
			if (parse_u64(optarg, 86400, &v) < 0 || v == 0)
				return cli_usage("mvirt", "invalid --timeout '%s'", optarg);
			cli.timeout_ms = (int)v * 1000;
			break;
		case 'h':
			usage();
			return EXIT_OK;
		case OPT_VERSION:
			printf("mvirt %s\n", MVIRT_VERSION);
			return EXIT_OK;
		case '?':
		case ':':
			return cli_bad_option("mvirt", argv, c);
		default:
			flag_endpoint[c - OPT_ENDPOINT] = optarg;
		}
	}
	if (!run_dir || !run_dir[0])
		run_dir = "/run/mvirt";
	for (int d = 0; d < DAEMON_COUNT; d++) {
		const char *env = getenv(endpoints[d].env);
		if (flag_endpoint[d])
			cli.endpoint[d] = xstrdup(flag_endpoint[d]);
		else if (env && env[0])
			cli.endpoint[d] = xstrdup(env);
		else
			cli.endpoint[d] = xasprintf("unix:%s/%s", run_dir, endpoints[d].socket);
	}

	if (optind >= argc) {
		usage();
		ret = EXIT_USAGE;
	} else if (streq(argv[optind], "vm")) {
		ret = cmd_vm(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "log")) {
		ret = cmd_log(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "volume")) {
		ret = cmd_volume(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "snapshot")) {
		ret = cmd_snapshot(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "template")) {
		ret = cmd_template(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "import")) {
		ret = cmd_import(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "pool")) {
		ret = cmd_pool(&cli, argc - optind - 1, argv + optind + 1);
	} else if (streq(argv[optind], "help")) {
		usage();
		ret = EXIT_OK;
	} else {
		ret = cli_usage("mvirt", "unknown command '%s'", argv[optind]);
	}
	for (int d = 0; d < DAEMON_COUNT; d++)
		free(cli.endpoint[d]);
	return ret;
}
