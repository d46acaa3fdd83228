/* SPDX-License-Identifier: MIT */
/*
 * The console session (see console.h). Our gRPC client is blocking and does
 * not expose its socket, so the relay alternates: wait up to CONSOLE_TICK_MS
 * for guest output, then take whatever standard input has ready. Output is
 * written as soon as it arrives; typed input waits at most one tick.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <termios.h>
#include <unistd.h>

#include "console.h"
#include "mvirt.pb-c.h"

#define CONSOLE_TICK_MS 10
#define CONSOLE_READ_MAX 4096

/* The terminal as we found it; read by the signal handler, hence static. */
static struct termios saved_termios;
static volatile sig_atomic_t terminal_is_raw;

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* Put the terminal back as it was (async-signal-safe: tcsetattr only). */
static void terminal_restore(void)
{
	if (terminal_is_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
		terminal_is_raw = 0;
	}
}

static int terminal_make_raw(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_termios) < 0)
		return -errno;
	raw = saved_termios;
	cfmakeraw(&raw);
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
		return -errno;
	terminal_is_raw = 1;
	return 0;
}

/* A fatal signal while attached: restore the terminal, then die of the signal
 * (SA_RESETHAND put the default action back, so the re-raised one kills). */
static void on_fatal_signal(int sig)
{
	terminal_restore();
	raise(sig);
}

static void signals_install(struct sigaction old[static ARRAY_SIZE(fatal_signals)],
			    struct sigaction *old_pipe)
{
	struct sigaction sa = { .sa_handler = on_fatal_signal, .sa_flags = SA_RESETHAND };
	struct sigaction ignore = { .sa_handler = SIG_IGN };

	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &sa, &old[i]);
	/* a closed stdout must end the session through EPIPE, not kill us raw */
	sigaction(SIGPIPE, &ignore, old_pipe);
}

static void signals_restore(const struct sigaction old[static ARRAY_SIZE(fatal_signals)],
			    const struct sigaction *old_pipe)
{
	for (size_t i = 0; i < ARRAY_SIZE(fatal_signals); i++)
		sigaction(fatal_signals[i], &old[i], NULL);
	sigaction(SIGPIPE, old_pipe, NULL);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int console_send(struct grpc_stream *s, const uint8_t *data, size_t len)
{
	Mvirt__ConsoleInput in = MVIRT__CONSOLE_INPUT__INIT;

	in.data.data = (uint8_t *)data;
	in.data.len = len;
	return grpc_stream_send(s, &in.base);
}

/* How a session ended. */
enum console_end { END_DETACHED, END_STREAM, END_STDOUT, END_CONNECTION };

/*
 * Move what standard input has ready to the guest. *stdin_open turns false
 * at end of input (the stream is then half-closed: output goes on).
 * Returns 1 when the user detached, 0 to go on, or a negative errno.
 */
static int relay_input(struct grpc_stream *s, bool escape, bool *stdin_open)
{
	struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
	uint8_t buf[CONSOLE_READ_MAX];
	const uint8_t *esc;
	ssize_t n;

	if (poll(&p, 1, 0) <= 0)
		return 0;
	n = read(STDIN_FILENO, buf, sizeof(buf));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		*stdin_open = false;
		return grpc_stream_close_send(s);
	}
	esc = escape ? memchr(buf, CONSOLE_ESCAPE, (size_t)n) : NULL;
	if (esc) {
		/* what was typed before Ctrl-] still goes to the guest */
		if (esc > buf)
			console_send(s, buf, (size_t)(esc - buf));
		return 1;
	}
	return console_send(s, buf, (size_t)n);
}

/* The relay loop; *conn_err is set for END_CONNECTION. */
static enum console_end console_relay(struct grpc_stream *s, bool escape, int *conn_err)
{
	bool stdin_open = true;

	for (;;) {
		ProtobufCMessage *m = NULL;
		int r = grpc_stream_recv(s, &m, stdin_open ? CONSOLE_TICK_MS : -1);

		if (r == 0)
			return END_STREAM;
		if (r < 0 && r != -ETIMEDOUT) {
			*conn_err = r;
			return END_CONNECTION;
		}
		if (r == 1) {
			const Mvirt__ConsoleOutput *out = (const Mvirt__ConsoleOutput *)m;
			r = write_all(STDOUT_FILENO, out->data.data, out->data.len);
			protobuf_c_message_free_unpacked(m, NULL);
			if (r < 0)
				return END_STDOUT;
		}
		if (!stdin_open)
			continue;
		r = relay_input(s, escape, &stdin_open);
		if (r == 1)
			return END_DETACHED;
		if (r < 0) {
			*conn_err = r;
			return END_CONNECTION;
		}
	}
}

int vm_console_attach(struct cli *cli, const char *vm_id, const char *label)
{
	Mvirt__ConsoleInput first = MVIRT__CONSOLE_INPUT__INIT;
	struct sigaction old[ARRAY_SIZE(fatal_signals)], old_pipe;
	bool tty = isatty(STDIN_FILENO);
	struct grpc_stream *s = NULL;
	struct grpc_client *client;
	enum console_end end;
	int r, conn_err = 0, ret = EXIT_OK;

	client = cli_connect(cli, DAEMON_VMM);
	if (!client)
		return EXIT_FAILED;
	/* the daemon answers only after the first message: send it at once */
	first.vm_id = (char *)vm_id;
	r = grpc_stream_open(client, "/mvirt.VmService/Console",
			     &mvirt__console_output__descriptor, 0, &s);
	if (r == 0)
		r = grpc_stream_send(s, &first.base);
	if (r < 0) {
		ret = cli_fail("vm", "connection to %s failed: %s", cli->endpoint[DAEMON_VMM],
			       strerror(-r));
		goto out;
	}

	signals_install(old, &old_pipe);
	if (tty) {
		fprintf(stderr, "Connected to the console of VM '%s'. Detach with Ctrl-].\n", label);
		r = terminal_make_raw();
		if (r < 0) {
			signals_restore(old, &old_pipe);
			ret = cli_fail("vm", "cannot put the terminal in raw mode: %s", strerror(-r));
			goto out;
		}
	}
	end = console_relay(s, tty, &conn_err);
	terminal_restore();
	signals_restore(old, &old_pipe);

	switch (end) {
	case END_DETACHED:
		fprintf(stderr, "\nDetached from VM '%s'.\n", label);
		break;
	case END_STREAM:
		if (grpc_stream_status(s)->code != GRPC_OK)
			ret = cli_fail_status("vm", grpc_stream_status(s));
		else if (tty)
			fprintf(stderr, "\nConsole of VM '%s' closed: the VM stopped.\n", label);
		break;
	case END_STDOUT:
		/* nobody reads our output any more: nothing to say, nowhere to say it */
		break;
	case END_CONNECTION:
		ret = cli_fail("vm", "connection to %s failed: %s", cli->endpoint[DAEMON_VMM],
			       strerror(-conn_err));
		break;
	}
out:
	grpc_stream_free(s);
	grpc_client_free(client);
	return ret;
}
