/* SPDX-License-Identifier: MIT */
#include "endpoint.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>

#include "util.h"

int grpc_endpoint_parse(const char *s, struct grpc_endpoint *ep)
{
	const char *colon, *host;
	size_t hlen;

	*ep = (struct grpc_endpoint){ 0 };
	if (startswith(s, "unix:")) {
		const char *path = s + 5;
		/* unix:///path is accepted too (gRPC's URI form) */
		if (startswith(path, "//"))
			path += 2;
		if (path[0] != '/')
			return -EINVAL;
		if (strlen(path) >= sizeof(ep->path))
			return -ENAMETOOLONG;
		ep->is_unix = true;
		strcpy(ep->path, path);
		return 0;
	}
	if (startswith(s, "http://"))
		s += 7;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		host = s + 1;
		hlen = (size_t)(end - host);
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -EINVAL;
		host = s;
		hlen = (size_t)(colon - s);
	}
	const char *port = colon + 1;
	size_t plen = strlen(port);
	if (plen > 0 && port[plen - 1] == '/')
		plen--; /* "http://host:port/" */
	if (hlen == 0 || hlen >= sizeof(ep->host) || plen == 0 || plen > 5)
		return -EINVAL;
	unsigned long pn = 0;
	for (size_t i = 0; i < plen; i++) {
		if (port[i] < '0' || port[i] > '9')
			return -EINVAL;
		pn = pn * 10 + (unsigned long)(port[i] - '0');
	}
	if (pn == 0 || pn > 65535)
		return -EINVAL;
	memcpy(ep->host, host, hlen);
	snprintf(ep->port, sizeof(ep->port), "%lu", pn);
	return 0;
}

void grpc_endpoint_format(const struct grpc_endpoint *ep, char *out, size_t n)
{
	if (ep->is_unix)
		snprintf(out, n, "unix:%s", ep->path);
	else if (strchr(ep->host, ':'))
		snprintf(out, n, "[%s]:%s", ep->host, ep->port);
	else
		snprintf(out, n, "%s:%s", ep->host, ep->port);
}

static void unix_addr(const struct grpc_endpoint *ep, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	strcpy(sa->sun_path, ep->path);
}

/* A socket file nobody accepts on is left over from a crash: remove it. A
 * regular file or a live socket at the path is not ours to remove. */
static int unix_remove_stale(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	_cleanup_close_ int fd = -1;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return -EADDRINUSE;
	if (errno != ECONNREFUSED)
		return -errno;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int listen_unix(const struct grpc_endpoint *ep)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;
	int r;

	r = unix_remove_stale(ep->path);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unix_addr(ep, &sa);
	/* Bind under a umask that yields 0660 directly: no window in which the
	 * socket is more open than intended. */
	mode_t old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0)
		return -errno;
	if (listen(fd, 512) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int listen_tcp(const struct grpc_endpoint *ep)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res = NULL;
	int r, one = 1, fd;

	r = getaddrinfo(ep->host, ep->port, &hints, &res);
	if (r != 0)
		return -EADDRNOTAVAIL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	r = fd;
out:
	freeaddrinfo(res);
	return r;
}

int grpc_endpoint_listen(const struct grpc_endpoint *ep)
{
	return ep->is_unix ? listen_unix(ep) : listen_tcp(ep);
}

/* Non-blocking connect bounded by timeout_ms, then back to blocking mode. */
static int connect_timeout(int fd, const struct sockaddr *sa, socklen_t len, int timeout_ms)
{
	int flags = fcntl(fd, F_GETFL), err = 0;
	socklen_t elen = sizeof(err);

	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	if (connect(fd, sa, len) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int n = poll(&p, 1, timeout_ms);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0)
			return -errno;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
		if (err)
			return -err;
	}
	fcntl(fd, F_SETFL, flags);
	return 0;
}

int grpc_endpoint_connect(const struct grpc_endpoint *ep, int timeout_ms)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (ep->is_unix) {
		struct sockaddr_un sa;
		unix_addr(ep, &sa);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		r = connect_timeout(fd, (struct sockaddr *)&sa, sizeof(sa), timeout_ms);
		return r < 0 ? r : TAKE_FD(fd);
	}

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	if (getaddrinfo(ep->host, ep->port, &hints, &res) != 0)
		return -EHOSTUNREACH;
	r = -ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int one = 1;
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			r = -errno;
			continue;
		}
		r = connect_timeout(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (r == 0) {
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			break;
		}
		closep(&fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return r < 0 ? r : TAKE_FD(fd);
}
