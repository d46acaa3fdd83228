/* SPDX-License-Identifier: MIT */
/* Unit tests of the VM manager's pure parts: VmConfig checks and its stored
 * JSON, MACs, /proc/PID/stat parsing, the console ring log, the store on a
 * real SQLite file. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "console_log.h"
#include "proc.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static Mvirt__VmConfig *kernel_cfg(void)
{
	Mvirt__VmConfig *c = xmalloc(sizeof(*c));

	mvirt__vm_config__init(c);
	c->vcpus = 2;
	c->memory_mb = 256;
	c->boot_mode = MVIRT__BOOT_MODE__BOOT_MODE_KERNEL;
	c->_kernel_case = MVIRT__VM_CONFIG___KERNEL_KERNEL;
	c->kernel = xstrdup("/boot/vmlinux");
	return c;
}

static void add_disk(Mvirt__VmConfig *c, const char *path, bool ro)
{
	Mvirt__DiskConfig *d = xmalloc(sizeof(*d));

	mvirt__disk_config__init(d);
	d->path = xstrdup(path);
	d->readonly = ro;
	c->disks = xrealloc(c->disks, (c->n_disks + 1) * sizeof(*c->disks));
	c->disks[c->n_disks++] = d;
}

static void add_nic(Mvirt__VmConfig *c, const char *mac, const char *vhost)
{
	Mvirt__NicConfig *n = xmalloc(sizeof(*n));

	mvirt__nic_config__init(n);
	if (mac) {
		n->_mac_case = MVIRT__NIC_CONFIG___MAC_MAC;
		n->mac = xstrdup(mac);
	}
	if (vhost) {
		n->_vhost_socket_case = MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET;
		n->vhost_socket = xstrdup(vhost);
	}
	c->nics = xrealloc(c->nics, (c->n_nics + 1) * sizeof(*c->nics));
	c->nics[c->n_nics++] = n;
}

static int check(Mvirt__VmConfig *c, const char *want_substr)
{
	char err[256] = "";
	int r = vmconfig_check(c, err, sizeof(err));

	if (want_substr && !strstr(err, want_substr))
		fprintf(stderr, "  error was: %s\n", err);
	return r == 0 ? 0 : (want_substr && strstr(err, want_substr) ? 1 : -1);
}

static void test_checks(void)
{
	Mvirt__VmConfig *c = kernel_cfg();

	CHECK_INT(check(c, NULL), 0);
	c->vcpus = 0;
	CHECK_INT(check(c, "vcpus must be > 0"), 1);
	c->vcpus = 100000;
	CHECK_INT(check(c, "exceeds"), 1);
	c->vcpus = 1;
	c->memory_mb = 0;
	CHECK_INT(check(c, "memory_mb must be > 0"), 1);
	c->memory_mb = UINT64_MAX;
	CHECK_INT(check(c, "exceeds"), 1);
	c->memory_mb = 128;
	c->boot_mode = 7;
	CHECK_INT(check(c, "invalid boot_mode"), 1);
	c->boot_mode = MVIRT__BOOT_MODE__BOOT_MODE_DISK;
	CHECK_INT(check(c, "Disk boot mode requires at least one disk"), 1);
	c->boot_mode = MVIRT__BOOT_MODE__BOOT_MODE_UNSPECIFIED; /* treated as DISK */
	CHECK_INT(check(c, "Disk boot mode requires at least one disk"), 1);
	add_disk(c, "/var/lib/mvirt/a.raw", false);
	CHECK_INT(check(c, NULL), 0);
	c->boot_mode = MVIRT__BOOT_MODE__BOOT_MODE_KERNEL;
	free(c->kernel);
	c->kernel = xstrdup("");
	CHECK_INT(check(c, "Kernel boot mode requires kernel path"), 1);
	free(c->kernel);
	c->kernel = xstrdup("relative/vmlinux");
	CHECK_INT(check(c, "must be absolute"), 1);
	free(c->kernel);
	c->kernel = xstrdup("/boot/vm,linux");
	CHECK_INT(check(c, "must not contain ','"), 1);
	free(c->kernel);
	c->kernel = xstrdup("/boot/vmlinux");
	add_disk(c, "/var/lib/mvirt/a.raw", true);
	CHECK_INT(check(c, "duplicate disk path"), 1);
	c->n_disks--;
	mvirt__disk_config__free_unpacked(c->disks[c->n_disks], NULL);
	add_disk(c, "disk.raw", false);
	CHECK_INT(check(c, "must be absolute"), 1);
	c->n_disks--;
	mvirt__disk_config__free_unpacked(c->disks[c->n_disks], NULL);
	add_nic(c, "52:54:00:12:34:56", NULL);
	CHECK_INT(check(c, NULL), 0);
	add_nic(c, "52:54:00:12:34:56", NULL);
	CHECK_INT(check(c, "duplicate MAC"), 1);
	free(c->nics[1]->mac);
	c->nics[1]->mac = xstrdup("01:00:5e:00:00:01"); /* multicast */
	CHECK_INT(check(c, "invalid MAC"), 1);
	free(c->nics[1]->mac);
	c->nics[1]->mac = xstrdup("52:54:00:12:34:5G");
	CHECK_INT(check(c, "invalid MAC"), 1);
	free(c->nics[1]->mac);
	c->nics[1]->mac = xstrdup("52:54:00:12:34:57");
	c->nics[1]->_vhost_socket_case = MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET;
	c->nics[1]->vhost_socket = xstrdup("net.sock");
	CHECK_INT(check(c, "vhost_socket"), 1);
	vmconfig_free(c);
}

static void test_json_and_normalize(void)
{
	Mvirt__VmConfig *c = kernel_cfg(), *back = NULL;
	char *json = NULL, err[256] = "";

	add_disk(c, "/var/lib/mvirt/a.raw", true);
	add_nic(c, NULL, "/run/mvirt/net/n1.sock");
	vmconfig_normalize(c);
	CHECK_INT(c->n_nics, 1);
	CHECK(mac_valid(c->nics[0]->mac));
	CHECK_INT(vmconfig_to_json(c, &json), 0);
	/* the reference's key order */
	CHECK(strstr(json, "{\"vcpus\":2,\"memory_mb\":256,\"boot_mode\":2,\"kernel\":\"/boot/vmlinux\","
			   "\"initramfs\":null,\"cmdline\":null,\"disks\":[{\"path\":") == json);
	CHECK_INT(vmconfig_from_json(json, strlen(json), &back, err, sizeof(err)), 0);
	CHECK_INT(back->vcpus, 2);
	CHECK_INT(back->n_disks, 1);
	CHECK(back->disks[0]->readonly);
	CHECK_STR(back->nics[0]->mac, c->nics[0]->mac);
	CHECK_STR(back->nics[0]->vhost_socket, "/run/mvirt/net/n1.sock");
	CHECK_INT(back->_initramfs_case, 0);
	vmconfig_free(back);
	free(json);

	/* an empty config gets one TAP NIC */
	Mvirt__VmConfig *e = kernel_cfg();
	vmconfig_normalize(e);
	CHECK_INT(e->n_nics, 1);
	CHECK_INT(e->nics[0]->_vhost_socket_case, 0);
	vmconfig_free(e);

	/* reference rows: optional keys missing */
	const char *ref = "{\"vcpus\":1,\"memory_mb\":512,\"kernel\":null,\"initramfs\":null,"
			  "\"cmdline\":null,\"disks\":[{\"path\":\"/dev/zvol/p/x\",\"readonly\":false}],"
			  "\"nics\":[{\"tap\":null,\"mac\":null,\"vhost_socket\":null}],"
			  "\"user_data\":null}";
	CHECK_INT(vmconfig_from_json(ref, strlen(ref), &back, err, sizeof(err)), 0);
	CHECK_INT(back->boot_mode, 0);
	CHECK_INT(back->nested_virt, 0);
	vmconfig_free(back);

	static const char *const bad[] = {
		"", "[]", "{}", "{\"vcpus\":\"1\"}", "{\"vcpus\":-1,\"memory_mb\":1}",
		"{\"vcpus\":1,\"memory_mb\":1,\"disks\":{},\"nics\":[]}",
		"{\"vcpus\":1,\"memory_mb\":1,\"disks\":[{}],\"nics\":[]}",
		"{\"vcpus\":1,\"memory_mb\":1,\"disks\":[],\"nics\":[1]}",
		"{\"vcpus\":1,\"memory_mb\":1,\"kernel\":5,\"disks\":[],\"nics\":[]}",
		"{\"vcpus\":1,\"vcpus\":2,\"memory_mb\":1,\"disks\":[],\"nics\":[]}",
		"{\"vcpus\":99999999999,\"memory_mb\":1,\"disks\":[],\"nics\":[]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		back = NULL;
		CHECK_INT(vmconfig_from_json(bad[i], strlen(bad[i]), &back, err, sizeof(err)),
			  -EBADMSG);
		CHECK(back == NULL);
	}
	vmconfig_free(c);
}

static void test_mac(void)
{
	char m[MAC_STR_LEN];

	CHECK(mac_valid("52:54:00:ab:CD:ef"));
	CHECK(!mac_valid("52:54:00:ab:cd"));
	CHECK(!mac_valid("52-54-00-ab-cd-ef"));
	CHECK(!mac_valid("ff:ff:ff:ff:ff:ff"));
	for (int i = 0; i < 100; i++) {
		mac_generate(m);
		CHECK(mac_valid(m));
		CHECK((strtoul(m, NULL, 16) & 2) == 2); /* locally administered */
	}
	CHECK(mac_equal("52:54:00:AB:CD:EF", "52:54:00:ab:cd:ef"));
}

static void test_proc_stat(void)
{
	const char *line = "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 "
			   "3 0 987654 100 200";
	const char *evil = "1234 (a) b ) c) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 x";
	uint64_t v = 0;

	CHECK_INT(proc_parse_stat_start(line, strlen(line), &v), 0);
	CHECK_U64(v, 987654);
	CHECK_INT(proc_parse_stat_start(evil, strlen(evil), &v), 0);
	CHECK_U64(v, 424242);
	CHECK_INT(proc_parse_stat_start("1 (x) S 1 2", 11, &v), -EBADMSG);
	CHECK_INT(proc_parse_stat_start("no paren", 8, &v), -EBADMSG);
	CHECK_INT(proc_start_time(getpid(), &v), 0);
	CHECK(v > 0);
	CHECK(!proc_is_ours(getpid(), v + 1, "test"));
	CHECK(proc_is_ours(getpid(), v, "test-vmm_config"));
	CHECK(!proc_is_ours(getpid(), v, "not in my command line"));
}

/* The hypervisor's log is its own output: the tail is one printable line
 * however the file looks. */
static void test_log_tail(void)
{
	char path[] = "/tmp/mvirt-hvlog-XXXXXX";
	int fd = mkstemp(path);
	char out[64];
	char big[5000];

	CHECK(fd >= 0);
	static const char text[] = "first line\nqemu: error \x1b[31mbad\x01\n\n  \r\n";
	CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)sizeof(text) - 1);
	proc_log_tail(path, out, sizeof(out));
	CHECK_STR(out, "qemu: error ?[31mbad?");
	proc_log_tail(path, out, 5);
	CHECK_STR(out, "qemu");
	/* a last line longer than what is read: its end is kept */
	memset(big, 'x', sizeof(big));
	CHECK(pwrite(fd, big, sizeof(big), 0) == (ssize_t)sizeof(big));
	CHECK(ftruncate(fd, sizeof(big)) == 0);
	proc_log_tail(path, out, sizeof(out));
	CHECK_INT(strlen(out), sizeof(out) - 1);
	CHECK(ftruncate(fd, 0) == 0);
	proc_log_tail(path, out, sizeof(out));
	CHECK_STR(out, "");
	close(fd);
	unlink(path);
	proc_log_tail(path, out, sizeof(out)); /* gone: empty, no error */
	CHECK_STR(out, "");
}

static void test_console_log(void)
{
	char path[] = "/tmp/mvirt-conlog-XXXXXX";
	int fd = mkstemp(path);
	struct console_log *l = NULL;
	uint8_t *data = NULL, big[200000];
	size_t n = 0;

	close(fd);
	unlink(path);
	CHECK_INT(console_log_open(path, CONSOLE_LOG_MIN, &l), 0);
	CHECK_INT(console_log_append(l, "hello ", 6), 0);
	CHECK_INT(console_log_append(l, "world", 5), 0);
	CHECK_INT(console_log_tail(l, 0, &data, &n), 0);
	CHECK_INT(n, 11);
	CHECK_MEM(data, "hello world", 11);
	free(data);
	CHECK_INT(console_log_tail(l, 5, &data, &n), 0);
	CHECK_MEM(data, "world", 5);
	free(data);
	/* wrap around: only the newest capacity bytes stay */
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i % 251);
	CHECK_INT(console_log_append(l, big, 1000), 0);
	CHECK_INT(console_log_append(l, big, sizeof(big)), 0);
	CHECK_U64(console_log_total(l), 11 + 1000 + sizeof(big));
	CHECK_INT(console_log_tail(l, 0, &data, &n), 0);
	CHECK_INT(n, CONSOLE_LOG_MIN);
	CHECK_MEM(data, big + sizeof(big) - CONSOLE_LOG_MIN, CONSOLE_LOG_MIN);
	free(data);
	console_log_close(l);
	/* reopened: the same content; another capacity starts afresh */
	CHECK_INT(console_log_open(path, CONSOLE_LOG_MIN, &l), 0);
	CHECK_U64(console_log_total(l), 11 + 1000 + sizeof(big));
	console_log_close(l);
	CHECK_INT(console_log_open(path, 2 * CONSOLE_LOG_MIN, &l), 0);
	CHECK_U64(console_log_total(l), 0);
	console_log_close(l);
	/* a damaged header starts afresh too */
	fd = open(path, O_WRONLY);
	CHECK(write(fd, "garbage!", 8) == 8);
	close(fd);
	CHECK_INT(console_log_open(path, CONSOLE_LOG_MIN, &l), 0);
	CHECK_U64(console_log_total(l), 0);
	console_log_close(l);
	uint64_t cap, tot;
	CHECK_INT(console_log_parse_header((const uint8_t *)"MVCONLOG", 8, &cap, &tot), -EBADMSG);
	unlink(path);
}

static void test_store(void)
{
	char dir[] = "/tmp/mvirt-vmstore-XXXXXX";
	char path[128];
	struct vmstore *s = NULL;
	struct vm_record r = { 0 }, got = { 0 }, *list = NULL;
	size_t n = 0;
	bool taken;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/mvirt.db", dir);
	CHECK_INT(vmstore_open(path, &s), 0);
	snprintf(r.id, sizeof(r.id), "11111111-1111-4111-8111-111111111111");
	r.name = xstrdup("web");
	r.state = VM_STOPPED;
	r.config = kernel_cfg();
	r.created_at = 100;
	CHECK_INT(vmstore_insert(s, &r), 0);
	CHECK_INT(vmstore_insert(s, &r), -EEXIST);
	CHECK_INT(vmstore_resolve(s, "web", &got), 0);
	CHECK_STR(got.id, r.id);
	CHECK(!got.has_started_at);
	vm_record_clear(&got);
	CHECK_INT(vmstore_resolve(s, r.id, &got), 0);
	vm_record_clear(&got);
	CHECK_INT(vmstore_resolve(s, "nope", &got), -ENOENT);
	CHECK_INT(vmstore_name_taken(s, "web", &taken), 0);
	CHECK(taken);
	CHECK_INT(vmstore_set_state(s, r.id, VM_RUNNING, true, "boom"), 0);
	CHECK_INT(vmstore_get(s, r.id, &got), 0);
	CHECK_INT(got.state, VM_RUNNING);
	CHECK(got.has_started_at);
	CHECK_STR(got.last_error, "boom");
	vm_record_clear(&got);
	CHECK_INT(vmstore_set_state(s, r.id, VM_STOPPED, false, NULL), 0); /* keeps it */
	CHECK_INT(vmstore_get(s, r.id, &got), 0);
	CHECK_STR(got.last_error, "boom");
	vm_record_clear(&got);
	CHECK_INT(vmstore_set_state(s, r.id, VM_STOPPED, false, ""), 0);   /* clears it */
	CHECK_INT(vmstore_get(s, r.id, &got), 0);
	CHECK(got.last_error == NULL);
	vm_record_clear(&got);
	struct vm_runtime rt = { .pid = 42, .pid_start = 7, .control_socket = "/c",
				 .serial_socket = "/s", .hypervisor = "qemu", .taps = "a,b",
				 .shared_memory = true };
	CHECK_INT(vmstore_set_runtime(s, r.id, &rt), 0);
	CHECK_INT(vmstore_get(s, r.id, &got), 0);
	CHECK(got.has_runtime);
	CHECK_INT(got.rt.pid, 42);
	CHECK_STR(got.rt.taps, "a,b");
	CHECK(got.rt.shared_memory);
	vm_record_clear(&got);
	/* a second VM, same created_at: ties by id */
	struct vm_record r2 = { 0 };
	snprintf(r2.id, sizeof(r2.id), "00000000-0000-4000-8000-000000000000");
	r2.state = VM_STOPPED;
	r2.config = kernel_cfg();
	r2.created_at = 100;
	CHECK_INT(vmstore_insert(s, &r2), 0);
	CHECK_INT(vmstore_list(s, &list, &n), 0);
	CHECK_INT(n, 2);
	CHECK_STR(list[0].id, r2.id);
	CHECK(list[0].name == NULL);
	vm_record_list_free(list, n);
	/* deleting cascades the runtime row */
	CHECK_INT(vmstore_delete(s, r.id), 0);
	CHECK_INT(vmstore_get(s, r.id, &got), -ENOENT);
	CHECK_INT(vmstore_delete(s, r.id), -ENOENT);
	vm_record_clear(&r);
	vm_record_clear(&r2);
	vmstore_close(s);
	unlink(path);
	snprintf(path, sizeof(path), "%s/mvirt.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/mvirt.db-shm", dir);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_checks();
	test_json_and_normalize();
	test_mac();
	test_proc_stat();
	test_log_tail();
	test_console_log();
	test_store();
	return test_done();
}
