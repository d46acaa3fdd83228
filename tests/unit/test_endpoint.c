/* SPDX-License-Identifier: MIT */
/* lib/grpc/endpoint.c: grpc_endpoint_parse and grpc_endpoint_format. */
#include "endpoint.h"
#include "tap.h"
#include "util.h"

static void check_unix(int line, const char *s, const char *path)
{
	struct grpc_endpoint ep;
	int r = grpc_endpoint_parse(s, &ep);

	tap_checks++;
	if (r != 0 || !ep.is_unix || strcmp(ep.path, path) != 0 || ep.host[0] || ep.port[0]) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "grpc_endpoint_parse(\"%s\") = %d unix=%d path=\"%s\"\n", s, r,
			ep.is_unix, ep.path);
	}
}
#define UNIX(s, path) check_unix(__LINE__, s, path)

static void check_tcp(int line, const char *s, const char *host, const char *port)
{
	struct grpc_endpoint ep;
	int r = grpc_endpoint_parse(s, &ep);

	tap_checks++;
	if (r != 0 || ep.is_unix || strcmp(ep.host, host) != 0 || strcmp(ep.port, port) != 0 ||
	    ep.path[0]) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "grpc_endpoint_parse(\"%s\") = %d unix=%d host=\"%s\" port=\"%s\"\n",
			s, r, ep.is_unix, ep.host, ep.port);
	}
}
#define TCP(s, host, port) check_tcp(__LINE__, s, host, port)

static void check_bad(int line, const char *s, int want)
{
	struct grpc_endpoint ep;
	int r = grpc_endpoint_parse(s, &ep);

	tap_checks++;
	if (r != want) {
		tap_fail(__FILE__, line);
		fprintf(stderr, "grpc_endpoint_parse(\"%s\") = %d, want %d\n", s, r, want);
	}
}
#define BAD(s) check_bad(__LINE__, s, -EINVAL)

static void test_unix(void)
{
	char s[320], path[300];
	struct grpc_endpoint ep;

	UNIX("unix:/run/mvirt/log.sock", "/run/mvirt/log.sock");
	UNIX("unix:///run/mvirt/log.sock", "/run/mvirt/log.sock");
	UNIX("unix:/", "/");
	UNIX("unix:/with:colon", "/with:colon");
	UNIX("unix:/a b", "/a b");

	BAD("unix:");
	BAD("unix:relative.sock");
	BAD("unix:./log.sock");
	BAD("unix://relative");
	BAD("unix:~/log.sock");

	/* sun_path holds 108 bytes including the NUL: 107 characters fit */
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	memset(path, 'p', max);
	path[0] = '/';
	path[max] = '\0';
	snprintf(s, sizeof(s), "unix:%s", path);
	UNIX(s, path);
	snprintf(s, sizeof(s), "unix://%s", path);
	UNIX(s, path);
	path[max] = 'p';
	path[max + 1] = '\0';
	snprintf(s, sizeof(s), "unix:%s", path);
	check_bad(__LINE__, s, -ENAMETOOLONG);
	memset(path, 'p', 250);
	path[0] = '/';
	path[250] = '\0';
	snprintf(s, sizeof(s), "unix:///%s", path);
	check_bad(__LINE__, s, -ENAMETOOLONG);

	/* failure leaves a cleared endpoint, not the previous parse */
	CHECK_INT(grpc_endpoint_parse("unix:/x", &ep), 0);
	CHECK_INT(grpc_endpoint_parse("unix:x", &ep), -EINVAL);
	CHECK(!ep.is_unix && ep.path[0] == '\0');
}

static void test_tcp(void)
{
	char s[400], host[300];

	TCP("localhost:50051", "localhost", "50051");
	TCP("127.0.0.1:1", "127.0.0.1", "1");
	TCP("example.com:65535", "example.com", "65535");
	TCP("host:00080", "host", "80");
	TCP("host:8080/", "host", "8080");
	TCP("[::1]:50051", "::1", "50051");
	TCP("[fe80::1%eth0]:443", "fe80::1%eth0", "443");
	TCP("[::]:9", "::", "9");
	TCP("http://localhost:50051", "localhost", "50051");
	TCP("http://10.0.0.1:80/", "10.0.0.1", "80");
	TCP("http://[::1]:50051/", "::1", "50051");
	TCP("http://[::1]:50051", "::1", "50051");

	/* ports */
	BAD("host:0");
	BAD("host:00000");
	BAD("host:65536");
	BAD("host:99999");
	BAD("host:123456");
	BAD("host:abc");
	BAD("host:80a");
	BAD("host:-1");
	BAD("host:+80");
	BAD("host: 80");
	BAD("host:8 0");
	BAD("host:80//");
	BAD("host:/");
	BAD("[::1]:0");
	BAD("[::1]:65536");
	BAD("[::1]:http");

	/* missing parts */
	BAD("host");
	BAD("host:");
	BAD(":80");
	BAD(":");
	BAD("");
	BAD("http://");
	BAD("http://host");
	BAD("http://:80");
	BAD("[::1]");
	BAD("[::1]:");
	BAD("[::1]50051");
	BAD("[::1");
	BAD("[]:80");
	BAD("::1:50051"); /* a v6 address needs brackets */
	BAD("a:b:80");
	BAD("https://host:443"); /* only the plain-text scheme */

	/* host length: 255 characters fit */
	memset(host, 'h', 255);
	host[255] = '\0';
	snprintf(s, sizeof(s), "%s:80", host);
	TCP(s, host, "80");
	host[255] = 'h';
	host[256] = '\0';
	snprintf(s, sizeof(s), "%s:80", host);
	BAD(s);
	snprintf(s, sizeof(s), "[%s]:80", host);
	BAD(s);
}

static void test_format(void)
{
	struct grpc_endpoint ep;
	char out[300];

	CHECK_INT(grpc_endpoint_parse("unix:///run/x.sock", &ep), 0);
	grpc_endpoint_format(&ep, out, sizeof(out));
	CHECK_STR(out, "unix:/run/x.sock");
	CHECK_INT(grpc_endpoint_parse("http://[::1]:50051/", &ep), 0);
	grpc_endpoint_format(&ep, out, sizeof(out));
	CHECK_STR(out, "[::1]:50051");
	CHECK_INT(grpc_endpoint_parse("http://localhost:0080", &ep), 0);
	grpc_endpoint_format(&ep, out, sizeof(out));
	CHECK_STR(out, "localhost:80");
	/* truncated to the buffer, always terminated */
	grpc_endpoint_format(&ep, out, 6);
	CHECK_STR(out, "local");
}

int main(void)
{
	test_unix();
	test_tcp();
	test_format();
	return test_done();
}
