/* SPDX-License-Identifier: MIT */
/*
 * The cloud-hypervisor driver: one cloud-hypervisor process per VM,
 * configured entirely by its command line (it boots the VM at once), and
 * controlled through its REST API on the --api-socket Unix socket with
 * libcurl. Disks are virtio-blk, NICs virtio-net on a TAP or a vhost-user
 * socket (guest RAM shared=on then), the serial port a Unix socket the
 * daemon reads; the virtio console is off.
 */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "ch_api.h"
#include "hv.h"
#include "util.h"

/* ---- command line --------------------------------------------------------- */

/* cloud-hypervisor splits option values at ',' and treats '"' as quoting:
 * a value holding either would change the meaning of the option. */
static int check_value(const char *what, const char *v, char *err)
{
	if (!strpbrk(v, ",\"") && v[0])
		return 0;
	snprintf(err, HV_ERR_MAX, "%s '%s' cannot be passed to cloud-hypervisor (empty, ',' or '\"')",
		 what, v);
	return -EINVAL;
}

static int add_disk_arg(struct argv_builder *a, const char *path, bool readonly, char *err)
{
	char id[32];
	int r;

	r = check_value("disk path", path, err);
	if (r < 0)
		return r;
	hv_disk_id(path, id);
	argv_add(a, "--disk");
	argv_add(a, "path=%s%s,id=%s", path, readonly ? ",readonly=on" : "", id);
	return 0;
}

static int add_nic_arg(struct argv_builder *a, const Mvirt__NicConfig *n, const char *tap,
		       char *err)
{
	char id[32];
	int r;

	hv_nic_id(n->mac, id);
	argv_add(a, "--net");
	if (n->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET) {
		r = check_value("vhost-user socket", n->vhost_socket, err);
		if (r < 0)
			return r;
		/* vhost_mode defaults to client: mvirt-net serves the socket */
		argv_add(a, "vhost_user=true,socket=%s,mac=%s,id=%s", n->vhost_socket, n->mac, id);
	} else {
		r = check_value("TAP device", tap ?: "", err);
		if (r < 0)
			return r;
		argv_add(a, "tap=%s,mac=%s,id=%s", tap, n->mac, id);
	}
	return 0;
}

static int ch_build_argv(const struct hv_settings *s, const struct hv_spec *spec, char ***out,
			 char *err)
{
	const Mvirt__VmConfig *c = spec->config;
	struct argv_builder a = { 0 };
	int r;

	if ((r = check_value("API socket", spec->control_socket, err)) < 0 ||
	    (r = check_value("serial socket", spec->serial_socket, err)) < 0)
		return r;
	argv_add(&a, "%s", s->ch_bin);
	argv_add(&a, "--api-socket");
	argv_add(&a, "path=%s", spec->control_socket);
	argv_add(&a, "--cpus");
	argv_add(&a, "boot=%u", c->vcpus);
	argv_add(&a, "--memory");
	/* vhost-user back ends map guest RAM: it must be shared */
	argv_add(&a, "size=%lluM%s", (unsigned long long)c->memory_mb,
		 spec->shared_memory ? ",shared=on" : "");
	if (vmconfig_kernel_boot(c)) {
		argv_add(&a, "--kernel");
		argv_add(&a, "%s", c->kernel);
		if (c->_initramfs_case == MVIRT__VM_CONFIG___INITRAMFS_INITRAMFS) {
			argv_add(&a, "--initramfs");
			argv_add(&a, "%s", c->initramfs);
		}
		/* "=": a command line starting with '-' must not read as an option */
		if (c->_cmdline_case == MVIRT__VM_CONFIG___CMDLINE_CMDLINE)
			argv_add(&a, "--cmdline=%s", c->cmdline);
	} else {
		if (!s->firmware) {
			argv_free(argv_finish(&a));
			snprintf(err, HV_ERR_MAX, "disk boot needs UEFI firmware (--firmware-path)");
			return -ENOENT;
		}
		argv_add(&a, "--firmware");
		argv_add(&a, "%s", s->firmware);
	}
	for (size_t i = 0; i < c->n_disks && r >= 0; i++)
		r = add_disk_arg(&a, c->disks[i]->path, c->disks[i]->readonly, err);
	if (r >= 0 && spec->seed_iso)
		r = add_disk_arg(&a, spec->seed_iso, true, err);
	for (size_t i = 0; i < c->n_nics && r >= 0; i++)
		r = add_nic_arg(&a, c->nics[i], spec->taps ? spec->taps[i] : NULL, err);
	if (r < 0) {
		argv_free(argv_finish(&a));
		return r;
	}
	argv_add(&a, "--serial");
	argv_add(&a, "socket=%s", spec->serial_socket);
	argv_add(&a, "--console");
	argv_add(&a, "off");
	*out = argv_finish(&a);
	return 0;
}

/* ---- REST over the API socket ----------------------------------------------- */

struct answer {
	char *body;
	size_t len;
	bool too_large;
};

/* libcurl's write callback: keeps at most CH_ANSWER_MAX bytes; a larger
 * answer aborts the transfer. */
static size_t on_answer_data(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct answer *ans = userdata;
	size_t n = size * nmemb;

	if (n > CH_ANSWER_MAX - ans->len) {
		ans->too_large = true;
		return 0;
	}
	ans->body = xrealloc(ans->body, ans->len + n + 1);
	memcpy(ans->body + ans->len, p, n);
	ans->len += n;
	ans->body[ans->len] = '\0';
	return n;
}

/*
 * libcurl is loaded on first use: it pulls in some 28 libraries (TLS,
 * Kerberos, LDAP...) worth 5.5 MiB of resident memory, which a daemon that
 * only drives QEMU should not carry (bench/README.md, idle RSS).
 */
static struct {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
	void (*slist_free_all)(struct curl_slist *list);
} lc;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static char curl_init_error[256];

static void curl_init(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	CURLcode cc;

	if (!h) {
		snprintf(curl_init_error, sizeof(curl_init_error), "cannot load libcurl: %s",
			 dlerror());
		return;
	}
#define LOAD(field, name)                                                             \
	do {                                                                          \
		*(void **)&lc.field = dlsym(h, name);                                \
		if (!lc.field) {                                                      \
			snprintf(curl_init_error, sizeof(curl_init_error),            \
				 "libcurl lacks %s", name);                           \
			return;                                                       \
		}                                                                     \
	} while (0)
	LOAD(global_init, "curl_global_init");
	LOAD(easy_init, "curl_easy_init");
	LOAD(easy_setopt, "curl_easy_setopt");
	LOAD(easy_perform, "curl_easy_perform");
	LOAD(easy_getinfo, "curl_easy_getinfo");
	LOAD(easy_cleanup, "curl_easy_cleanup");
	LOAD(easy_strerror, "curl_easy_strerror");
	LOAD(slist_append, "curl_slist_append");
	LOAD(slist_free_all, "curl_slist_free_all");
#undef LOAD
	cc = lc.global_init(CURL_GLOBAL_NOTHING);
	if (cc != CURLE_OK)
		snprintf(curl_init_error, sizeof(curl_init_error), "libcurl: %s",
			 lc.easy_strerror(cc));
}

static void curl_easy_cleanupp(CURL **c)
{
	if (*c)
		lc.easy_cleanup(*c);
}

static void curl_slist_free_allp(struct curl_slist **l)
{
	if (*l)
		lc.slist_free_all(*l);
}

/*
 * One request: method ("GET"/"PUT") on /api/v1/<endpoint>, with body as
 * its JSON (stolen; NULL: none). 0 on a 2xx answer, with its body in *out
 * when out is given (NULL when empty); else -errno with the HTTP status and
 * cloud-hypervisor's error chain, or the transport's error, in err.
 */
static int ch_request(const char *sock, const char *method, const char *endpoint, json_t *body,
		      int timeout_ms, struct answer *out, char *err)
{
	_cleanup_(curl_easy_cleanupp) CURL *curl = NULL;
	_cleanup_(curl_slist_free_allp) struct curl_slist *headers = NULL;
	_cleanup_free_ char *json = NULL, *url = NULL;
	struct answer ans = { 0 };
	long status = 0;
	CURLcode cc;
	int r = 0;

	if (body) {
		json = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!json)
			abort();
	}
	pthread_once(&curl_once, curl_init);
	if (curl_init_error[0]) {
		snprintf(err, HV_ERR_MAX, "%s", curl_init_error);
		return -ENOMEM;
	}
	curl = lc.easy_init();
	if (!curl) {
		snprintf(err, HV_ERR_MAX, "libcurl: cannot create a handle");
		return -ENOMEM;
	}
	url = xasprintf("http://localhost/api/v1/%s", endpoint);
	lc.easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	lc.easy_setopt(curl, CURLOPT_URL, url);
	lc.easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	/* worker threads: no SIGALRM-based timeouts */
	lc.easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	lc.easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)MAX(timeout_ms, 1));
	lc.easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_answer_data);
	lc.easy_setopt(curl, CURLOPT_WRITEDATA, &ans);
	if (json) {
		headers = lc.slist_append(headers, "Content-Type: application/json");
		headers = lc.slist_append(headers, "Accept: application/json");
		lc.easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
		lc.easy_setopt(curl, CURLOPT_POSTFIELDS, json);
		lc.easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	}
	cc = lc.easy_perform(curl);
	if (cc != CURLE_OK) {
		if (ans.too_large) {
			snprintf(err, HV_ERR_MAX, "%s: answer larger than %d bytes", endpoint,
				 CH_ANSWER_MAX);
			r = -EBADMSG;
		} else {
			snprintf(err, HV_ERR_MAX, "%s: %s", endpoint, lc.easy_strerror(cc));
			r = cc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT
			    : cc == CURLE_COULDNT_CONNECT  ? -ECONNREFUSED
							   : -EIO;
		}
		goto out;
	}
	lc.easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		char text[HV_ERR_MAX - 64];
		ch_error_text(ans.body, ans.len, text, sizeof(text));
		snprintf(err, HV_ERR_MAX, "%s: HTTP %ld: %s", endpoint, status, text);
		r = status == 404 ? -ENOENT : -EIO;
		goto out;
	}
	if (out) {
		*out = ans;
		return 0;
	}
out:
	free(ans.body);
	return r;
}

/* A PUT without an answer worth reading. */
static int ch_put(const struct hv_settings *s, const char *sock, const char *endpoint,
		  json_t *body, char *err)
{
	return ch_request(sock, "PUT", endpoint, body, s->control_timeout_ms, NULL, err);
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* The VMM answers (vmm.ping) and reports the VM Running (vm.info). */
static int ch_check_running(const char *sock, int timeout_ms, char *err)
{
	struct answer ans = { 0 };
	char state[CH_STATE_MAX];
	int r;

	r = ch_request(sock, "GET", "vmm.ping", NULL, timeout_ms, NULL, err);
	if (r < 0)
		return r;
	r = ch_request(sock, "GET", "vm.info", NULL, timeout_ms, &ans, err);
	if (r < 0)
		return r;
	r = ch_info_state(ans.body ?: "", ans.len, state, err, HV_ERR_MAX);
	free(ans.body);
	if (r < 0)
		return r;
	if (streq(state, "Running"))
		return 0;
	snprintf(err, HV_ERR_MAX, "the VM is %s", state);
	return -EIO;
}

static int ch_wait_running(const struct hv_settings *s, const char *sock, int timeout_ms,
			   char *err)
{
	struct timespec t0;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = timeout_ms - elapsed_ms(&t0);
		r = ch_check_running(sock, (int)MIN(MAX(left, 50), (long)s->control_timeout_ms),
				     err);
		if (r == 0 || elapsed_ms(&t0) >= timeout_ms)
			return r;
		/* the socket appears a moment after exec */
		sleep_ms(20);
	}
}

static int ch_power_button(const struct hv_settings *s, const char *sock, char *err)
{
	return ch_put(s, sock, "vm.power-button", NULL, err);
}

static int ch_pause(const struct hv_settings *s, const char *sock, char *err)
{
	return ch_put(s, sock, "vm.pause", NULL, err);
}

static int ch_resume(const struct hv_settings *s, const char *sock, char *err)
{
	return ch_put(s, sock, "vm.resume", NULL, err);
}

static int ch_reboot(const struct hv_settings *s, const char *sock, char *err)
{
	return ch_put(s, sock, "vm.reboot", NULL, err);
}

static int ch_add_disk(const struct hv_settings *s, const char *sock,
		       const Mvirt__DiskConfig *d, char *err)
{
	char id[32];

	hv_disk_id(d->path, id);
	return ch_put(s, sock, "vm.add-disk",
		      json_pack("{s:s, s:b, s:s}", "path", d->path, "readonly", (int)d->readonly,
				"id", id),
		      err);
}

static int ch_remove_device(const struct hv_settings *s, const char *sock, const char *id,
			    char *err)
{
	return ch_put(s, sock, "vm.remove-device", json_pack("{s:s}", "id", id), err);
}

static int ch_remove_disk(const struct hv_settings *s, const char *sock, const char *path,
			  char *err)
{
	char id[32];

	hv_disk_id(path, id);
	return ch_remove_device(s, sock, id, err);
}

static int ch_add_nic(const struct hv_settings *s, const char *sock, const Mvirt__NicConfig *n,
		      const char *tap, char *err)
{
	char id[32];
	json_t *body;

	hv_nic_id(n->mac, id);
	if (n->_vhost_socket_case == MVIRT__NIC_CONFIG___VHOST_SOCKET_VHOST_SOCKET)
		body = json_pack("{s:b, s:s, s:s, s:s}", "vhost_user", 1, "vhost_socket",
				 n->vhost_socket, "mac", n->mac, "id", id);
	else
		body = json_pack("{s:s, s:s, s:s}", "tap", tap ?: "", "mac", n->mac, "id", id);
	return ch_put(s, sock, "vm.add-net", body, err);
}

static int ch_remove_nic(const struct hv_settings *s, const char *sock, const char *mac,
			 char *err)
{
	char id[32];

	hv_nic_id(mac, id);
	return ch_remove_device(s, sock, id, err);
}

const struct hv_driver hv_cloud_hypervisor = {
	.name = "cloud-hypervisor",
	.build_argv = ch_build_argv,
	.wait_running = ch_wait_running,
	.power_button = ch_power_button,
	.pause = ch_pause,
	.resume = ch_resume,
	.reboot = ch_reboot,
	.add_disk = ch_add_disk,
	.remove_disk = ch_remove_disk,
	.add_nic = ch_add_nic,
	.remove_nic = ch_remove_nic,
};
