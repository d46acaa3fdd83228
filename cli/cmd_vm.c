/* SPDX-License-Identifier: MIT */
/*
 * mvirt vm create|list|get|start|stop|kill|delete|pause|resume|reboot|
 * attach-disk|detach-disk|attach-nic|detach-nic|console|log|watch: virtual
 * machines of mvirt-vmm. Every VM argument is an id or a name; the daemon
 * resolves it.
 */
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "console.h"
#include "mvirt.pb-c.h"
#include "size.h"
#include "table.h"
#include "vm_args.h"

#define VM_DEFAULT_VCPUS 1
#define VM_DEFAULT_MEMORY_MIB 512
/* The daemon takes requests up to 4 MiB; user-data is the only big field. */
#define USER_DATA_MAX (1u << 20)
/* How often stop --wait asks GetVm, in case an event was missed. */
#define STOP_WAIT_RECHECK_MS 1000

#define VM_REF_HELP "VM is the id or the name of a virtual machine.\n"

/* ---- calls and formats ------------------------------------------------- */

/* One unary call of mvirt.VmService (see cli_call). */
static int vm_call(struct cli *cli, const char *method, const ProtobufCMessage *req,
		   const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp)
{
	_cleanup_free_ char *path = xasprintf("/mvirt.VmService/%s", method);

	return cli_call(cli, DAEMON_VMM, "vm", path, req, resp_desc, resp);
}

/* An enum value's name without its prefix ("RUNNING"), as JSON shows it. */
static const char *enum_short_name(const ProtobufCEnumDescriptor *d, int value,
				   const char *prefix)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);

	if (!v)
		return "UNKNOWN";
	return startswith(v->name, prefix) ? v->name + strlen(prefix) : v->name;
}

static const char *vm_state_enum_name(Mvirt__VmState s)
{
	return enum_short_name(&mvirt__vm_state__descriptor, (int)s, "VM_STATE_");
}

/* "running", as text output shows states. */
static const char *vm_state_name(Mvirt__VmState s)
{
	switch (s) {
	case MVIRT__VM_STATE__VM_STATE_STOPPED:
		return "stopped";
	case MVIRT__VM_STATE__VM_STATE_STARTING:
		return "starting";
	case MVIRT__VM_STATE__VM_STATE_RUNNING:
		return "running";
	case MVIRT__VM_STATE__VM_STATE_STOPPING:
		return "stopping";
	case MVIRT__VM_STATE__VM_STATE_PAUSED:
		return "paused";
	default:
		return "unknown";
	}
}

/* "created", "started"...; "changed" for UNSPECIFIED and values we do not know. */
static const char *vm_event_name(Mvirt__VmEventType t)
{
	switch (t) {
	case MVIRT__VM_EVENT_TYPE__VM_EVENT_CREATED:
		return "created";
	case MVIRT__VM_EVENT_TYPE__VM_EVENT_STARTED:
		return "started";
	case MVIRT__VM_EVENT_TYPE__VM_EVENT_STOPPED:
		return "stopped";
	case MVIRT__VM_EVENT_TYPE__VM_EVENT_DELETED:
		return "deleted";
	default:
		return "changed";
	}
}

static const char *boot_mode_name(Mvirt__BootMode m)
{
	return m == MVIRT__BOOT_MODE__BOOT_MODE_KERNEL ? "kernel" : "disk";
}

/* Unix seconds as "2025-01-02 03:04:05" UTC; "-" for 0. Returns buf. */
static char *time_format(int64_t secs, char buf[static 32])
{
	time_t t = (time_t)secs;
	struct tm tm;

	if (secs == 0 || !gmtime_r(&t, &tm) || strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, 32, "-");
	return buf;
}

static json_t *json_optional_string(bool present, const char *s)
{
	return present ? json_string(s) : json_null();
}

static json_t *vm_config_json(const Mvirt__VmConfig *c)
{
	json_t *disks = json_array(), *nics = json_array();

	for (size_t i = 0; i < c->n_disks; i++)
		json_array_append_new(disks, json_pack("{s:s, s:b}", "path", c->disks[i]->path,
						       "readonly", c->disks[i]->readonly));
	for (size_t i = 0; i < c->n_nics; i++) {
		const Mvirt__NicConfig *n = c->nics[i];
		json_array_append_new(
			nics, json_pack("{s:o, s:o, s:o}", "tap",
					json_optional_string(n->_tap_case, n->tap), "mac",
					json_optional_string(n->_mac_case, n->mac), "vhost_socket",
					json_optional_string(n->_vhost_socket_case, n->vhost_socket)));
	}
	return json_pack("{s:I, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "vcpus",
			 (json_int_t)c->vcpus, "memory_mb", json_u64(c->memory_mb), "boot_mode",
			 enum_short_name(&mvirt__boot_mode__descriptor, (int)c->boot_mode,
					 "BOOT_MODE_"),
			 "kernel", json_optional_string(c->_kernel_case, c->kernel), "initramfs",
			 json_optional_string(c->_initramfs_case, c->initramfs), "cmdline",
			 json_optional_string(c->_cmdline_case, c->cmdline), "disks", disks, "nics",
			 nics, "user_data", json_optional_string(c->_user_data_case, c->user_data),
			 "nested_virt", c->nested_virt);
}

/* Every field of the Vm; absent optional fields are null, so every key is always there. */
static json_t *vm_json(const Mvirt__Vm *vm)
{
	static const Mvirt__VmConfig no_config = MVIRT__VM_CONFIG__INIT;

	return json_pack("{s:s, s:o, s:s, s:o, s:I, s:o, s:o}", "id", vm->id, "name",
			 json_optional_string(vm->_name_case, vm->name), "state",
			 vm_state_enum_name(vm->state), "config",
			 vm_config_json(vm->config ? vm->config : &no_config), "created_at",
			 (json_int_t)vm->created_at, "started_at",
			 vm->_started_at_case ? json_integer(vm->started_at) : json_null(),
			 "last_error", json_optional_string(vm->_last_error_case, vm->last_error));
}

/* The name, or "-" for a VM without one. */
static const char *vm_label(const Mvirt__Vm *vm)
{
	return vm->_name_case && vm->name[0] ? vm->name : "-";
}

static void vm_print(const Mvirt__Vm *vm)
{
	static const Mvirt__VmConfig no_config = MVIRT__VM_CONFIG__INIT;
	const Mvirt__VmConfig *c = vm->config ? vm->config : &no_config;
	char created[32], started[32];

	printf("Name:         %s\n"
	       "ID:           %s\n"
	       "State:        %s\n",
	       vm_label(vm), vm->id, vm_state_name(vm->state));
	if (vm->_last_error_case)
		printf("Last error:   %s\n", vm->last_error);
	printf("vCPUs:        %" PRIu32 "\n"
	       "Memory:       %" PRIu64 " MiB\n"
	       "Boot:         %s\n",
	       c->vcpus, c->memory_mb, boot_mode_name(c->boot_mode));
	if (c->_kernel_case)
		printf("Kernel:       %s\n", c->kernel);
	if (c->_initramfs_case)
		printf("Initramfs:    %s\n", c->initramfs);
	if (c->_cmdline_case)
		printf("Cmdline:      %s\n", c->cmdline);
	if (c->nested_virt)
		printf("Nested virt:  yes\n");
	if (c->_user_data_case)
		printf("User data:    %zu bytes\n", strlen(c->user_data));
	printf("Created:      %s\n"
	       "Started:      %s\n",
	       time_format(vm->created_at, created),
	       vm->_started_at_case ? time_format(vm->started_at, started) : "never");
	if (c->n_disks == 0)
		printf("Disks:        none\n");
	for (size_t i = 0; i < c->n_disks; i++)
		printf("%s %s%s\n", i == 0 ? "Disks:       " : "             ", c->disks[i]->path,
		       c->disks[i]->readonly ? " (read-only)" : "");
	if (c->n_nics == 0)
		printf("NICs:         none\n");
	for (size_t i = 0; i < c->n_nics; i++) {
		const Mvirt__NicConfig *n = c->nics[i];
		printf("%s %s ", i == 0 ? "NICs:        " : "             ",
		       n->_mac_case ? n->mac : "(mac generated at start)");
		if (n->_vhost_socket_case)
			printf("vhost-user %s\n", n->vhost_socket);
		else
			printf("tap\n");
	}
}

/* Print a Vm response (JSON or text) and free it. */
static int vm_show(struct cli *cli, ProtobufCMessage *m)
{
	const Mvirt__Vm *vm = (const Mvirt__Vm *)m;

	if (cli->json)
		cli_json_print(vm_json(vm), false);
	else
		vm_print(vm);
	protobuf_c_message_free_unpacked(m, NULL);
	return EXIT_OK;
}

/* After a change: the Vm as JSON, or one line "VM 'x' <what>." (none for NULL). */
static int vm_done(struct cli *cli, ProtobufCMessage *m, const char *ref, const char *what)
{
	if (cli->json)
		return vm_show(cli, m);
	if (what)
		printf("VM '%s' %s.\n", ref, what);
	protobuf_c_message_free_unpacked(m, NULL);
	return EXIT_OK;
}

/* GetVm; EXIT_OK with *vm, or EXIT_FAILED (reported). */
static int vm_get(struct cli *cli, const char *ref, Mvirt__Vm **vm)
{
	Mvirt__GetVmRequest req = MVIRT__GET_VM_REQUEST__INIT;

	req.id = (char *)ref;
	return vm_call(cli, "GetVm", &req.base, &mvirt__vm__descriptor, (ProtobufCMessage **)vm);
}

/* ---- create ------------------------------------------------------------- */

static const char usage_create[] =
	"Usage: mvirt vm create NAME [OPTIONS]\n"
	"\n"
	"Define a virtual machine (stopped unless --start) and print it.\n"
	"\n"
	"Options:\n"
	"  -c, --vcpus N            virtual CPUs (default 1)\n"
	"  -m, --memory SIZE        guest memory: 512M, 2G, or a plain number of MiB\n"
	"                           (default 512M; whole MiB)\n"
	"      --boot disk|kernel   UEFI boot from the first disk, or direct kernel boot\n"
	"                           (default: kernel when --kernel is given, else disk)\n"
	"      --kernel PATH        kernel image (vmlinux or bzImage) for kernel boot\n"
	"      --initramfs PATH     initramfs for kernel boot\n"
	"      --cmdline STR        kernel command line ('console=ttyS0' for a serial console)\n"
	"  -d, --disk PATH[:ro]     a disk (file or block device), read-only with :ro;\n"
	"                           repeatable, in guest order\n"
	"  -n, --nic SPEC           a NIC, repeatable: vhost=SOCKET[,mac=MAC] (vhost-user,\n"
	"                           e.g. from mvirt-net) or tap[,mac=MAC]; without --nic\n"
	"                           the VM gets one TAP NIC\n"
	"      --user-data FILE     cloud-init user-data (a NoCloud seed is attached at start)\n"
	"      --nested-virt        expose virtualisation extensions to the guest\n"
	"      --start              start the VM once it is defined\n"
	"      --json               print the VM as JSON\n"
	"  -h, --help               show this help\n"
	"\n"
	"Paths are host paths below the daemon's allowed roots. A MAC not given is\n"
	"generated by the daemon.\n";

/* What create's options build; freed by create_args_done. */
struct create_args {
	Mvirt__VmConfig config;
	Mvirt__DiskConfig **disks;
	Mvirt__NicConfig **nics;
	bool boot_given, start;
};

static void create_args_done(struct create_args *a)
{
	for (size_t i = 0; i < a->config.n_disks; i++) {
		free(a->disks[i]->path);
		free(a->disks[i]);
	}
	for (size_t i = 0; i < a->config.n_nics; i++) {
		free(a->nics[i]->mac);
		free(a->nics[i]->vhost_socket);
		free(a->nics[i]);
	}
	free(a->disks);
	free(a->nics);
	free(a->config.user_data);
}

/* A NicConfig from a spec (owning its strings), or NULL after a usage error. */
static Mvirt__NicConfig *nic_from_spec(const char *cmd, const char *spec, int *ret)
{
	struct vm_nic_spec parsed;
	Mvirt__NicConfig *nic;
	const char *reason;

	if (vm_nic_spec_parse(spec, &parsed, &reason) < 0) {
		*ret = cli_usage(cmd, "invalid NIC '%s': %s", spec, reason);
		return NULL;
	}
	nic = xmalloc(sizeof(*nic));
	mvirt__nic_config__init(nic);
	if (parsed.mac) {
		nic->_mac_case = MVIRT__NIC_CONFIG___MAC_MAC;
		nic->mac = TAKE_PTR(parsed.mac);
	}
	if (parsed.vhost_socket) {
		nic->_vhost_socket_case = MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET;
		nic->vhost_socket = TAKE_PTR(parsed.vhost_socket);
	}
	return nic;
}

/* A DiskConfig from "PATH[:ro]", or NULL after a usage error. */
static Mvirt__DiskConfig *disk_from_spec(const char *cmd, const char *spec, int *ret)
{
	Mvirt__DiskConfig *disk;
	bool readonly;
	char *path;

	if (vm_disk_spec_parse(spec, &path, &readonly) < 0) {
		*ret = cli_usage(cmd, "invalid disk '%s' (PATH or PATH:ro)", spec);
		return NULL;
	}
	disk = xmalloc(sizeof(*disk));
	mvirt__disk_config__init(disk);
	disk->path = path;
	disk->readonly = readonly;
	return disk;
}

/*
 * The whole of a user-data file, at most USER_DATA_MAX bytes and text
 * (no NUL: the field is a string). Returns an exit code; *out on EXIT_OK.
 */
static int user_data_read(const char *cmd, const char *file, char **out)
{
	_cleanup_close_ int fd = open(file, O_RDONLY | O_CLOEXEC);
	_cleanup_free_ char *data = NULL;
	size_t len = 0;

	if (fd < 0)
		return cli_usage(cmd, "cannot read --user-data '%s': %s", file, strerror(errno));
	data = xmalloc(USER_DATA_MAX + 1);
	for (;;) {
		ssize_t n = read(fd, data + len, USER_DATA_MAX + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return cli_usage(cmd, "cannot read --user-data '%s': %s", file,
					 strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > USER_DATA_MAX)
			return cli_usage(cmd, "--user-data '%s' is larger than %u KiB", file,
					 USER_DATA_MAX / 1024);
	}
	if (memchr(data, '\0', len) || !utf8_valid(data, len))
		return cli_usage(cmd, "--user-data '%s' is not UTF-8 text", file);
	data[len] = '\0';
	*out = TAKE_PTR(data);
	return EXIT_OK;
}

/* The getopt loop of create; returns -1 to go on, else the exit code. */
static int create_options(struct cli *cli, const char *cmd, int argc, char **argv,
			  struct create_args *a)
{
	enum { O_BOOT = 0x100, O_KERNEL, O_INITRAMFS, O_CMDLINE, O_USER_DATA, O_NESTED, O_START,
	       O_JSON };
	static const struct option opts[] = {
		{ "vcpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "boot", required_argument, NULL, O_BOOT },
		{ "kernel", required_argument, NULL, O_KERNEL },
		{ "initramfs", required_argument, NULL, O_INITRAMFS },
		{ "cmdline", required_argument, NULL, O_CMDLINE },
		{ "disk", required_argument, NULL, 'd' },
		{ "nic", required_argument, NULL, 'n' },
		{ "user-data", required_argument, NULL, O_USER_DATA },
		{ "nested-virt", no_argument, NULL, O_NESTED },
		{ "start", no_argument, NULL, O_START },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	Mvirt__VmConfig *c = &a->config;
	unsigned long long v;
	int c_opt, r, ret = EXIT_USAGE;

	optind = 0;
	while ((c_opt = getopt_long(argc, argv, ":c:m:d:n:h", opts, NULL)) != -1) {
		switch (c_opt) {
		case 'c':
			if (parse_u64(optarg, UINT32_MAX, &v) < 0 || v == 0)
				return cli_usage(cmd, "invalid --vcpus '%s' (a number >= 1)",
						 optarg);
			c->vcpus = (uint32_t)v;
			break;
		case 'm':
			r = vm_memory_parse(optarg, &c->memory_mb);
			if (r == -ERANGE)
				return cli_usage(cmd, "--memory '%s' is too large", optarg);
			if (r < 0)
				return cli_usage(cmd,
						 "invalid --memory '%s' (whole MiB: 512, 512M, 2G)",
						 optarg);
			break;
		case O_BOOT:
			if (streq(optarg, "disk"))
				c->boot_mode = MVIRT__BOOT_MODE__BOOT_MODE_DISK;
			else if (streq(optarg, "kernel"))
				c->boot_mode = MVIRT__BOOT_MODE__BOOT_MODE_KERNEL;
			else
				return cli_usage(cmd, "invalid --boot '%s' (disk or kernel)", optarg);
			a->boot_given = true;
			break;
		case O_KERNEL:
			c->_kernel_case = MVIRT__VM_CONFIG___KERNEL_KERNEL;
			c->kernel = optarg;
			break;
		case O_INITRAMFS:
			c->_initramfs_case = MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS;
			c->initramfs = optarg;
			break;
		case O_CMDLINE:
			c->_cmdline_case = MVIRT__VM_CONFIG___CMDLINE_CMDLINE;
			c->cmdline = optarg;
			break;
		case 'd': {
			Mvirt__DiskConfig *disk = disk_from_spec(cmd, optarg, &ret);
			if (!disk)
				return ret;
			a->disks = xrealloc(a->disks, (c->n_disks + 1) * sizeof(*a->disks));
			a->disks[c->n_disks++] = disk;
			break;
		}
		case 'n': {
			Mvirt__NicConfig *nic = nic_from_spec(cmd, optarg, &ret);
			if (!nic)
				return ret;
			a->nics = xrealloc(a->nics, (c->n_nics + 1) * sizeof(*a->nics));
			a->nics[c->n_nics++] = nic;
			break;
		}
		case O_USER_DATA:
			if (c->_user_data_case)
				return cli_usage(cmd, "--user-data given twice");
			r = user_data_read(cmd, optarg, &c->user_data);
			if (r != EXIT_OK)
				return r;
			c->_user_data_case = MVIRT__VM_CONFIG___USER_DATA_USER_DATA;
			break;
		case O_NESTED:
			c->nested_virt = true;
			break;
		case O_START:
			a->start = true;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage_create, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c_opt);
		}
	}
	return cli_verb_positional(cmd, "NAME", argc, argv);
}

static int vm_create(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt vm create";
	Mvirt__CreateVmRequest req = MVIRT__CREATE_VM_REQUEST__INIT;
	Mvirt__StartVmRequest start = MVIRT__START_VM_REQUEST__INIT;
	struct create_args a = { .config = MVIRT__VM_CONFIG__INIT };
	ProtobufCMessage *created = NULL, *started = NULL;
	struct grpc_status st = { 0 };
	int r;

	a.config.vcpus = VM_DEFAULT_VCPUS;
	a.config.memory_mb = VM_DEFAULT_MEMORY_MIB;
	r = create_options(cli, cmd, argc, argv, &a);
	if (r >= 0)
		goto out;
	a.config.disks = a.disks;
	a.config.nics = a.nics;
	if (!a.boot_given)
		a.config.boot_mode = a.config._kernel_case ? MVIRT__BOOT_MODE__BOOT_MODE_KERNEL
							   : MVIRT__BOOT_MODE__BOOT_MODE_DISK;
	/* the daemon checks the rest; these would only be ignored there */
	if (a.config.boot_mode == MVIRT__BOOT_MODE__BOOT_MODE_DISK &&
	    (a.config._kernel_case || a.config._initramfs_case || a.config._cmdline_case)) {
		r = cli_usage(cmd, "--kernel, --initramfs and --cmdline need --boot kernel");
		goto out;
	}
	req._name_case = MVIRT__CREATE_VM_REQUEST___NAME_NAME;
	req.name = argv[optind];
	req.config = &a.config;
	r = vm_call(cli, "CreateVm", &req.base, &mvirt__vm__descriptor, &created);
	if (r != EXIT_OK || !a.start) {
		if (r == EXIT_OK)
			r = vm_show(cli, created);
		goto out;
	}
	start.id = ((Mvirt__Vm *)created)->id;
	cli_call_status(cli, DAEMON_VMM, "/mvirt.VmService/StartVm", &start.base,
			&mvirt__vm__descriptor, &started, &st);
	if (st.code != GRPC_OK)
		/* one line that says both what happened and what did not */
		r = cli_fail("vm", "VM '%s' was created, but did not start: %s", req.name,
			     st.message && st.message[0] ? st.message : grpc_code_name(st.code));
	else
		r = vm_show(cli, started);
	grpc_status_clear(&st);
	protobuf_c_message_free_unpacked(created, NULL);
out:
	create_args_done(&a);
	return r;
}

/* ---- list, get ---------------------------------------------------------- */

static const char usage_list[] =
	"Usage: mvirt vm list [--json]\n"
	"\n"
	"Show every virtual machine, newest first.\n" CLI_OPTIONS_JSON_HELP;

static int vm_list(struct cli *cli, int argc, char **argv)
{
	Mvirt__ListVmsRequest req = MVIRT__LIST_VMS_REQUEST__INIT;
	const Mvirt__ListVmsResponse *list;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt vm list", usage_list, "", argc, argv);
	if (r >= 0)
		return r;
	if (vm_call(cli, "ListVms", &req.base, &mvirt__list_vms_response__descriptor, &resp) !=
	    EXIT_OK)
		return EXIT_FAILED;
	list = (const Mvirt__ListVmsResponse *)resp;
	if (cli->json) {
		json_t *all = json_array();
		for (size_t i = 0; i < list->n_vms; i++)
			json_array_append_new(all, vm_json(list->vms[i]));
		cli_json_print(all, false);
	} else {
		_cleanup_table_ struct table *t =
			table_new(6, "NAME", "STATE", "VCPUS", "MEMORY", "CREATED", "ID");
		for (size_t i = 0; i < list->n_vms; i++) {
			const Mvirt__Vm *vm = list->vms[i];
			char vcpus[16] = "-", memory[SIZE_STR_MAX] = "-", created[32];
			if (vm->config) {
				snprintf(vcpus, sizeof(vcpus), "%" PRIu32, vm->config->vcpus);
				if (vm->config->memory_mb <= UINT64_MAX >> 20)
					size_format(vm->config->memory_mb << 20, memory);
			}
			table_add(t, vm_label(vm), vm_state_name(vm->state), vcpus, memory,
				  time_format(vm->created_at, created), vm->id);
		}
		table_print(t, stdout);
	}
	protobuf_c_message_free_unpacked(resp, NULL);
	return EXIT_OK;
}

static const char usage_get[] =
	"Usage: mvirt vm get VM [--json]\n"
	"\n"
	"Show a virtual machine: state, configuration, disks and NICs.\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;

static int vm_get_cmd(struct cli *cli, int argc, char **argv)
{
	Mvirt__Vm *vm = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt vm get", usage_get, "VM", argc, argv);
	if (r >= 0)
		return r;
	if (vm_get(cli, argv[optind], &vm) != EXIT_OK)
		return EXIT_FAILED;
	return vm_show(cli, &vm->base);
}

/* ---- verbs that take just a VM ------------------------------------------ */

/* A verb whose request holds just the VM ref, and whose answer is the Vm. */
struct vm_simple_verb {
	const char *cmd, *usage, *method, *done;
};

/* req is the verb's own request message; *id is its VM ref field. */
static int vm_simple(struct cli *cli, const struct vm_simple_verb *v, ProtobufCMessage *req,
		     char **id, int argc, char **argv)
{
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, v->cmd, v->usage, "VM", argc, argv);
	if (r >= 0)
		return r;
	*id = argv[optind];
	if (vm_call(cli, v->method, req, &mvirt__vm__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	return vm_done(cli, resp, argv[optind], v->done);
}

static const char usage_start[] =
	"Usage: mvirt vm start VM [--json]\n"
	"\n"
	"Start a stopped virtual machine; returns once its hypervisor runs.\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;
static const char usage_kill[] =
	"Usage: mvirt vm kill VM [--json]\n"
	"\n"
	"Stop a virtual machine at once, without asking the guest (its disks may be\n"
	"left unclean). Returns at once; the VM is STOPPED moments later.\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;
static const char usage_pause[] =
	"Usage: mvirt vm pause VM [--json]\n"
	"\n"
	"Pause the virtual CPUs of a running virtual machine.\n" VM_REF_HELP CLI_OPTIONS_JSON_HELP;
static const char usage_resume[] =
	"Usage: mvirt vm resume VM [--json]\n"
	"\n"
	"Resume a paused virtual machine.\n" VM_REF_HELP CLI_OPTIONS_JSON_HELP;
static const char usage_reboot[] =
	"Usage: mvirt vm reboot VM [--json]\n"
	"\n"
	"Reset a running virtual machine (same hypervisor process).\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;

static int vm_start(struct cli *cli, int argc, char **argv)
{
	static const struct vm_simple_verb v = { "mvirt vm start", usage_start, "StartVm",
						 "started" };
	Mvirt__StartVmRequest req = MVIRT__START_VM_REQUEST__INIT;

	return vm_simple(cli, &v, &req.base, &req.id, argc, argv);
}

static int vm_kill(struct cli *cli, int argc, char **argv)
{
	static const struct vm_simple_verb v = { "mvirt vm kill", usage_kill, "KillVm",
						 "is being killed" };
	Mvirt__KillVmRequest req = MVIRT__KILL_VM_REQUEST__INIT;

	return vm_simple(cli, &v, &req.base, &req.id, argc, argv);
}

static int vm_pause(struct cli *cli, int argc, char **argv)
{
	static const struct vm_simple_verb v = { "mvirt vm pause", usage_pause, "PauseVm",
						 "paused" };
	Mvirt__PauseVmRequest req = MVIRT__PAUSE_VM_REQUEST__INIT;

	return vm_simple(cli, &v, &req.base, &req.id, argc, argv);
}

static int vm_resume(struct cli *cli, int argc, char **argv)
{
	static const struct vm_simple_verb v = { "mvirt vm resume", usage_resume, "ResumeVm",
						 "resumed" };
	Mvirt__ResumeVmRequest req = MVIRT__RESUME_VM_REQUEST__INIT;

	return vm_simple(cli, &v, &req.base, &req.id, argc, argv);
}

static int vm_reboot(struct cli *cli, int argc, char **argv)
{
	static const struct vm_simple_verb v = { "mvirt vm reboot", usage_reboot, "RebootVm",
						 "rebooted" };
	Mvirt__RebootVmRequest req = MVIRT__REBOOT_VM_REQUEST__INIT;

	return vm_simple(cli, &v, &req.base, &req.id, argc, argv);
}

static const char usage_delete[] =
	"Usage: mvirt vm delete VM [--json]\n"
	"\n"
	"Delete a stopped virtual machine and its console log. Its disks and NICs\n"
	"are left alone.\n" VM_REF_HELP CLI_OPTIONS_JSON_HELP;

static int vm_delete(struct cli *cli, int argc, char **argv)
{
	Mvirt__DeleteVmRequest req = MVIRT__DELETE_VM_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt vm delete", usage_delete, "VM", argc, argv);
	if (r >= 0)
		return r;
	req.id = argv[optind];
	if (vm_call(cli, "DeleteVm", &req.base, &mvirt__delete_vm_response__descriptor, &resp) !=
	    EXIT_OK)
		return EXIT_FAILED;
	protobuf_c_message_free_unpacked(resp, NULL);
	if (cli->json)
		cli_json_print(json_pack("{s:b}", "deleted", true), false);
	else
		printf("VM '%s' deleted.\n", req.id);
	return EXIT_OK;
}

/* ---- stop --------------------------------------------------------------- */

static const char usage_stop[] =
	"Usage: mvirt vm stop VM [--timeout S] [--wait] [--json]\n"
	"\n"
	"Stop a virtual machine gracefully: the guest gets an ACPI power-button press\n"
	"and is killed if it is still running after the grace period. Returns at once\n"
	"unless --wait is given.\n" VM_REF_HELP
	"\n"
	"Options:\n"
	"  -t, --timeout S   grace period in seconds (default: the daemon's, 30 s)\n"
	"  -w, --wait        return only once the VM is stopped\n"
	"      --json        print the VM as JSON\n"
	"  -h, --help        show this help\n";

/* A WatchVms stream on one VM, opened on client; NULL after reporting a failure. */
static struct grpc_stream *watch_open(struct cli *cli, struct grpc_client *client,
				      const char *ref)
{
	Mvirt__WatchVmsRequest req = MVIRT__WATCH_VMS_REQUEST__INIT;
	struct grpc_stream *s = NULL;
	int r;

	if (ref) {
		req._vm_id_case = MVIRT__WATCH_VMS_REQUEST___VM_ID_VM_ID;
		req.vm_id = (char *)ref;
	}
	r = grpc_stream_open(client, "/mvirt.VmService/WatchVms", &mvirt__vm_event__descriptor, 0,
			     &s);
	if (r == 0)
		r = grpc_stream_send(s, &req.base);
	if (r == 0)
		r = grpc_stream_close_send(s);
	if (r < 0) {
		cli_fail("vm", "connection to %s failed: %s", cli->endpoint[DAEMON_VMM],
			 strerror(-r));
		grpc_stream_free(s);
		return NULL;
	}
	return s;
}

/*
 * Wait until the VM with this id is STOPPED: its events, and GetVm every
 * STOP_WAIT_RECHECK_MS in case the watch began after the change. Returns an
 * exit code; *vm holds the final Vm on EXIT_OK.
 */
static int stop_wait(struct cli *cli, struct grpc_stream *watch, const char *id, Mvirt__Vm **vm)
{
	for (;;) {
		ProtobufCMessage *m = NULL;
		int r = grpc_stream_recv(watch, &m, STOP_WAIT_RECHECK_MS);

		if (r == 1) {
			const Mvirt__VmEvent *e = (const Mvirt__VmEvent *)m;
			bool stopped = e->_vm_case && e->vm &&
				       e->vm->state == MVIRT__VM_STATE__VM_STATE_STOPPED;
			protobuf_c_message_free_unpacked(m, NULL);
			if (!stopped)
				continue;
		} else if (r == 0 && grpc_stream_status(watch)->code != GRPC_OK) {
			return cli_fail_status("vm", grpc_stream_status(watch));
		} else if (r < 0 && r != -ETIMEDOUT) {
			return cli_fail("vm", "connection to %s failed: %s",
					cli->endpoint[DAEMON_VMM], strerror(-r));
		}
		/* an event said stopped, the watch ended, or time to look */
		if (vm_get(cli, id, vm) != EXIT_OK)
			return EXIT_FAILED;
		if ((*vm)->state == MVIRT__VM_STATE__VM_STATE_STOPPED)
			return EXIT_OK;
		protobuf_c_message_free_unpacked(&(*vm)->base, NULL);
		*vm = NULL;
		if (r == 0) /* the watch ended without the VM stopping: keep asking */
			usleep(STOP_WAIT_RECHECK_MS * 1000);
	}
}

static int vm_stop(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt vm stop";
	enum { O_JSON = 0x100 };
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", no_argument, NULL, 'w' },
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	Mvirt__StopVmRequest req = MVIRT__STOP_VM_REQUEST__INIT;
	struct grpc_client *client = NULL;
	struct grpc_stream *watch = NULL;
	ProtobufCMessage *resp = NULL;
	Mvirt__Vm *final = NULL;
	unsigned long long v;
	bool wait = false;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":t:wh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (parse_u64(optarg, UINT32_MAX, &v) < 0 || v == 0)
				return cli_usage(cmd, "invalid --timeout '%s' (seconds >= 1)",
						 optarg);
			req.timeout_seconds = (uint32_t)v;
			break;
		case 'w':
			wait = true;
			break;
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage_stop, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	r = cli_verb_positional(cmd, "VM", argc, argv);
	if (r >= 0)
		return r;
	req.id = argv[optind];
	if (wait) {
		/* watch before stopping, so that the STOPPED event cannot slip by */
		client = cli_connect(cli, DAEMON_VMM);
		if (!client)
			return EXIT_FAILED;
		watch = watch_open(cli, client, req.id);
		if (!watch) {
			grpc_client_free(client);
			return EXIT_FAILED;
		}
	}
	r = vm_call(cli, "StopVm", &req.base, &mvirt__vm__descriptor, &resp);
	if (r == EXIT_OK && !wait)
		return vm_done(cli, resp, req.id, "is stopping");
	if (r == EXIT_OK) {
		r = stop_wait(cli, watch, ((Mvirt__Vm *)resp)->id, &final);
		protobuf_c_message_free_unpacked(resp, NULL);
		if (r == EXIT_OK)
			r = vm_done(cli, &final->base, req.id, "stopped");
	}
	grpc_stream_free(watch);
	grpc_client_free(client);
	return r;
}

/* ---- disks and NICs ------------------------------------------------------ */

static const char usage_attach_disk[] =
	"Usage: mvirt vm attach-disk VM PATH[:ro] [--json]\n"
	"\n"
	"Add a disk (file or block device; read-only with :ro) at the end of the\n"
	"VM's disks: hot-plugged when the VM runs, else used from the next start.\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;
static const char usage_detach_disk[] =
	"Usage: mvirt vm detach-disk VM PATH [--json]\n"
	"\n"
	"Remove the disk with this path (unplugged when the VM runs).\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;
static const char usage_attach_nic[] =
	"Usage: mvirt vm attach-nic VM SPEC [--json]\n"
	"\n"
	"Add a NIC: vhost=SOCKET[,mac=MAC] (vhost-user) or tap[,mac=MAC]; hot-plugged\n"
	"when the VM runs, else used from the next start. A MAC not given is generated.\n"
	VM_REF_HELP CLI_OPTIONS_JSON_HELP;
static const char usage_detach_nic[] =
	"Usage: mvirt vm detach-nic VM MAC [--json]\n"
	"\n"
	"Remove the NIC with this MAC (unplugged when the VM runs).\n" VM_REF_HELP
		CLI_OPTIONS_JSON_HELP;

static int vm_attach_disk(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt vm attach-disk";
	Mvirt__AttachDiskRequest req = MVIRT__ATTACH_DISK_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	Mvirt__DiskConfig *disk;
	int r;

	r = cli_verb_args(cli, cmd, usage_attach_disk, "VM PATH", argc, argv);
	if (r >= 0)
		return r;
	disk = disk_from_spec(cmd, argv[optind + 1], &r);
	if (!disk)
		return r;
	req.vm_id = argv[optind];
	req.disk = disk;
	r = vm_call(cli, "AttachDisk", &req.base, &mvirt__vm__descriptor, &resp);
	if (r == EXIT_OK && !cli->json)
		printf("Disk %s attached to VM '%s'.\n", disk->path, req.vm_id);
	free(disk->path);
	free(disk);
	if (r != EXIT_OK)
		return r;
	return vm_done(cli, resp, req.vm_id, NULL);
}

static int vm_detach_disk(struct cli *cli, int argc, char **argv)
{
	Mvirt__DetachDiskRequest req = MVIRT__DETACH_DISK_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, "mvirt vm detach-disk", usage_detach_disk, "VM PATH", argc, argv);
	if (r >= 0)
		return r;
	req.vm_id = argv[optind];
	req.path = argv[optind + 1];
	if (vm_call(cli, "DetachDisk", &req.base, &mvirt__vm__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (!cli->json)
		printf("Disk %s detached from VM '%s'.\n", req.path, req.vm_id);
	return vm_done(cli, resp, req.vm_id, NULL);
}

static int vm_attach_nic(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt vm attach-nic";
	Mvirt__AttachNicRequest req = MVIRT__ATTACH_NIC_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	Mvirt__NicConfig *nic;
	int r;

	r = cli_verb_args(cli, cmd, usage_attach_nic, "VM SPEC", argc, argv);
	if (r >= 0)
		return r;
	nic = nic_from_spec(cmd, argv[optind + 1], &r);
	if (!nic)
		return r;
	req.vm_id = argv[optind];
	req.nic = nic;
	r = vm_call(cli, "AttachNic", &req.base, &mvirt__vm__descriptor, &resp);
	free(nic->mac);
	free(nic->vhost_socket);
	free(nic);
	if (r != EXIT_OK)
		return r;
	if (!cli->json) {
		/* the new NIC is the last one; say its MAC, which may be generated */
		const Mvirt__VmConfig *c = ((Mvirt__Vm *)resp)->config;
		const Mvirt__NicConfig *added = c && c->n_nics ? c->nics[c->n_nics - 1] : NULL;
		printf("NIC %s attached to VM '%s'.\n",
		       added && added->_mac_case ? added->mac : "", req.vm_id);
	}
	return vm_done(cli, resp, req.vm_id, NULL);
}

static int vm_detach_nic(struct cli *cli, int argc, char **argv)
{
	const char *cmd = "mvirt vm detach-nic";
	Mvirt__DetachNicRequest req = MVIRT__DETACH_NIC_REQUEST__INIT;
	ProtobufCMessage *resp = NULL;
	int r;

	r = cli_verb_args(cli, cmd, usage_detach_nic, "VM MAC", argc, argv);
	if (r >= 0)
		return r;
	if (!vm_mac_valid(argv[optind + 1]))
		return cli_usage(cmd, "invalid MAC '%s' (hh:hh:hh:hh:hh:hh)", argv[optind + 1]);
	req.vm_id = argv[optind];
	req.mac = argv[optind + 1];
	if (vm_call(cli, "DetachNic", &req.base, &mvirt__vm__descriptor, &resp) != EXIT_OK)
		return EXIT_FAILED;
	if (!cli->json)
		printf("NIC %s detached from VM '%s'.\n", req.mac, req.vm_id);
	return vm_done(cli, resp, req.vm_id, NULL);
}

/* ---- console, log, watch -------------------------------------------------- */

static const char usage_console[] =
	"Usage: mvirt vm console VM\n"
	"\n"
	"Attach to the serial console of a running virtual machine: what you type\n"
	"goes to the guest, what it prints comes here. Press Ctrl-] to detach (the\n"
	"VM keeps running). When standard input is a terminal it is in raw mode while\n"
	"attached, so Ctrl-C and the like reach the guest. The session also ends when\n"
	"the VM stops. Input that is not a terminal is sent as it is, and its end\n"
	"leaves the output running. Earlier output: 'mvirt vm log VM'.\n" VM_REF_HELP
	"\n"
	"Options:\n"
	"  -h, --help   show this help\n";

static int vm_console(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt vm console";
	Mvirt__Vm *vm = NULL;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c != 'h')
			return cli_bad_option(cmd, argv, c);
		fputs(usage_console, stdout);
		return EXIT_OK;
	}
	r = cli_verb_positional(cmd, "VM", argc, argv);
	if (r >= 0)
		return r;
	/* a clear error before the terminal is touched (the stream would end
	 * with the same one, but only after raw mode and the banner) */
	if (vm_get(cli, argv[optind], &vm) != EXIT_OK)
		return EXIT_FAILED;
	if (vm->state != MVIRT__VM_STATE__VM_STATE_RUNNING &&
	    vm->state != MVIRT__VM_STATE__VM_STATE_PAUSED)
		r = cli_fail("vm", "VM '%s' is not running", argv[optind]);
	else
		r = vm_console_attach(cli, vm->id, argv[optind]);
	protobuf_c_message_free_unpacked(&vm->base, NULL);
	return r;
}

static const char usage_log[] =
	"Usage: mvirt vm log VM [--bytes N]\n"
	"\n"
	"Print what the VM wrote to its serial console during its current or last\n"
	"run (as much as the daemon keeps), raw, to standard output.\n" VM_REF_HELP
	"\n"
	"Options:\n"
	"  -b, --bytes N   only the last N bytes\n"
	"  -h, --help      show this help\n";

static int vm_log(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bytes", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt vm log";
	Mvirt__GetConsoleLogRequest req = MVIRT__GET_CONSOLE_LOG_REQUEST__INIT;
	const Mvirt__ConsoleLog *log;
	ProtobufCMessage *resp = NULL;
	unsigned long long v;
	int c, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":b:h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (parse_u64(optarg, UINT64_MAX, &v) < 0 || v == 0)
				return cli_usage(cmd, "invalid --bytes '%s' (a number >= 1)",
						 optarg);
			req.max_bytes = v;
			break;
		case 'h':
			fputs(usage_log, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	r = cli_verb_positional(cmd, "VM", argc, argv);
	if (r >= 0)
		return r;
	req.id = argv[optind];
	if (vm_call(cli, "GetConsoleLog", &req.base, &mvirt__console_log__descriptor, &resp) !=
	    EXIT_OK)
		return EXIT_FAILED;
	log = (const Mvirt__ConsoleLog *)resp;
	r = EXIT_OK;
	if ((log->data.len && fwrite(log->data.data, 1, log->data.len, stdout) != log->data.len) ||
	    fflush(stdout) != 0)
		r = cli_fail("vm", "cannot write the log: %s", strerror(errno));
	protobuf_c_message_free_unpacked(resp, NULL);
	return r;
}

static const char usage_watch[] =
	"Usage: mvirt vm watch [VM] [--json]\n"
	"\n"
	"Print every change of every virtual machine (or of VM only) as it happens,\n"
	"one line each: time, event (created, started, stopped, deleted, changed),\n"
	"name, state, id. With --json, one JSON object per line. Runs until\n"
	"interrupted, or until the watched VM is deleted.\n" CLI_OPTIONS_JSON_HELP;

static json_t *vm_event_json(const Mvirt__VmEvent *e)
{
	return json_pack("{s:s, s:s, s:I, s:o}", "vm_id", e->vm_id, "type",
			 enum_short_name(&mvirt__vm_event_type__descriptor, (int)e->type,
					 "VM_EVENT_"),
			 "timestamp", (json_int_t)e->timestamp, "vm",
			 e->_vm_case && e->vm ? vm_json(e->vm) : json_null());
}

static void vm_event_print(const Mvirt__VmEvent *e)
{
	const Mvirt__Vm *vm = e->_vm_case ? e->vm : NULL;
	char when[32];

	printf("%s  %-8s %s  %s  %s", time_format(e->timestamp, when), vm_event_name(e->type),
	       vm ? vm_label(vm) : "-", vm ? vm_state_name(vm->state) : "-", e->vm_id);
	if (vm && vm->_last_error_case && e->type == MVIRT__VM_EVENT_TYPE__VM_EVENT_STOPPED)
		printf("  (%s)", vm->last_error);
	putchar('\n');
}

static int vm_watch(struct cli *cli, int argc, char **argv)
{
	enum { O_JSON = 0x100 };
	static const struct option opts[] = {
		{ "json", no_argument, NULL, O_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cmd = "mvirt vm watch";
	struct grpc_client *client;
	struct grpc_stream *s;
	int c, r, ret = EXIT_OK;

	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_JSON:
			cli->json = true;
			break;
		case 'h':
			fputs(usage_watch, stdout);
			return EXIT_OK;
		default:
			return cli_bad_option(cmd, argv, c);
		}
	}
	/* VM is optional */
	if (argc - optind > 1)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
	client = cli_connect(cli, DAEMON_VMM);
	if (!client)
		return EXIT_FAILED;
	s = watch_open(cli, client, optind < argc ? argv[optind] : NULL);
	if (!s) {
		grpc_client_free(client);
		return EXIT_FAILED;
	}
	for (;;) {
		ProtobufCMessage *m = NULL;
		r = grpc_stream_recv(s, &m, -1);
		if (r <= 0)
			break;
		if (cli->json)
			cli_json_print(vm_event_json((const Mvirt__VmEvent *)m), true);
		else
			vm_event_print((const Mvirt__VmEvent *)m);
		fflush(stdout);
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (r < 0)
		ret = cli_fail("vm", "connection to %s failed: %s", cli->endpoint[DAEMON_VMM],
			       strerror(-r));
	else if (grpc_stream_status(s)->code != GRPC_OK)
		ret = cli_fail_status("vm", grpc_stream_status(s));
	grpc_stream_free(s);
	grpc_client_free(client);
	return ret;
}

int cmd_vm(struct cli *cli, int argc, char **argv)
{
	static const struct cli_verb verbs[] = {
		{ "create", "define a virtual machine (and start it with --start)", vm_create },
		{ "list", "show every virtual machine", vm_list },
		{ "get", "show a virtual machine", vm_get_cmd },
		{ "start", "start a virtual machine", vm_start },
		{ "stop", "stop gracefully (ACPI power button, then kill)", vm_stop },
		{ "kill", "stop at once", vm_kill },
		{ "delete", "delete a stopped virtual machine", vm_delete },
		{ "pause", "pause the virtual CPUs", vm_pause },
		{ "resume", "resume a paused virtual machine", vm_resume },
		{ "reboot", "reset a running virtual machine", vm_reboot },
		{ "attach-disk", "add a disk (hot-plug when running)", vm_attach_disk },
		{ "detach-disk", "remove a disk", vm_detach_disk },
		{ "attach-nic", "add a NIC (hot-plug when running)", vm_attach_nic },
		{ "detach-nic", "remove a NIC", vm_detach_nic },
		{ "console", "attach to the serial console (Ctrl-] detaches)", vm_console },
		{ "log", "print the serial console's recent output", vm_log },
		{ "watch", "print changes of virtual machines as they happen", vm_watch },
	};

	return cli_verb_dispatch(cli, "vm", "Virtual machines of mvirt-vmm.", verbs,
				 ARRAY_SIZE(verbs), argc, argv);
}
