/*
 * conbroker: the client's internal interfaces.
 *
 * One libuv loop.  transport.c connects to the broker (unix:, tcp:, ext:) and
 * turns the byte stream into frames; console.c and list.c are the commands;
 * term.c owns the terminal: raw mode, restored on every exit path, the escape
 * character, and standard output with flow control.  The commands call into
 * transport.c and term.c; those two call nothing back but through callbacks
 * (struct client_ops, struct term_events), and never each other.
 */
#ifndef CONBROKER_CLIENT_H
#define CONBROKER_CLIENT_H

#include <stdarg.h>
#include <stdint.h>
#include <uv.h>

#include "proto/proto.h"

/* Exit codes, the contract of DESIGN.md (same numbers as the proto codes). */
enum client_exit {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_NOENT = 2,
	EXIT_BUSY = 3,
	EXIT_LOCKED = 4,
	EXIT_UNREACHABLE = 5,
	EXIT_TAKEOVER = 6,
	EXIT_HANGUP = 7,
	EXIT_DENIED = 8
};

struct client;

/* What a command does with the connection. */
struct client_ops {
	void (*ready)(struct client *c);                       /* HELLO answered */
	void (*message)(struct client *c, const struct proto_msg *m);
	void (*stop)(struct client *c);                        /* before exiting */
	/* Input queued to the broker passed the high mark (1) or fell below
	 * the low one (0): stop or resume reading what is sent. */
	void (*sendq)(struct client *c, int full);
};

struct client {
	uv_loop_t *loop;
	const char *uri;
	const struct client_ops *ops;

	/* transport.c */
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_pipe_t pipe;
		uv_tcp_t tcp;
	} conn;
	int conn_open;
	uv_pipe_t ext_in, ext_out;   /* ext: the command's stdin and stdout */
	uv_process_t proc;
	int ext, ext_running, ext_lost;
	int64_t ext_status;
	int ext_signal;
	uv_stream_t *rd, *wr;
	struct proto_reader reader;
	size_t queued;               /* bytes queued to the broker */
	int write_failed;            /* the broker stopped taking bytes */
	unsigned heartbeat_ms;
	int hello_done;
	int reading;

	/* Ending. */
	int finishing;
	int exit_code;
	char *exit_msg;
};

/* transport.c */
const char *client_default_uri(void);
/* Connect to c->uri; a malformed URI ends the client with code 1. */
void client_start_connect(struct client *c);
int client_exit_code(uint32_t proto_code);
/* An ERROR or CLOSED frame ends the command with its code and message. */
void client_finish_status(struct client *c, const struct proto_msg *m);
int client_send(struct client *c, const struct proto_msg *m);
int client_send_data(struct client *c, const uint8_t *data, size_t len);
void client_pause(struct client *c, int paused);
/* Resume reading, and handle the frames that waited in the buffer. */
void client_resume(struct client *c);
/* Why the connection ended, for the exit message. */
void client_lost_reason(struct client *c, char *buf, size_t len);
/* End: remember the first exit code and message, close everything. */
void client_finish(struct client *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void client_close_transport(struct client *c);

/* term.c: the user's side.  What it reports goes to these callbacks. */
struct term_events {
	void (*input)(void *arg, const uint8_t *data, size_t len);
	void (*escape)(void *arg);      /* the escape character was typed */
	void (*eof)(void *arg);         /* standard input ended */
	void (*resized)(void *arg);     /* SIGWINCH */
	/* Standard output is backed up (1), or has drained enough (0). */
	void (*output_slow)(void *arg, int slow);
	/* Standard output failed, or a signal came: end with this message. */
	void (*fail)(void *arg, const char *message);
	void *arg;
};

struct term_opts {
	int escape;        /* -1: none */
	int readonly;
	struct term_events ev;
};

int term_parse_escape(const char *s, int *out);
void term_escape_name(int esc, char *buf, size_t len);
int term_start(uv_loop_t *loop, const struct term_opts *o);
int term_is_tty(void);
void term_raw(int on);
void term_winsize(uint16_t *rows, uint16_t *cols);
/* Output from the console to stdout; says output_slow when stdout is slow. */
void term_output(const uint8_t *data, size_t len);
/* Stop or resume reading standard input (the broker is not keeping up). */
void term_input_pause(int paused);
/* A line for the user on stderr, correct in raw mode too. */
void term_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void term_stop(void);
int term_drained(void);
/* The session is live: raw mode, and read the user's input. */
void term_attached(void);

/* console.c */
struct console_opts {
	const char *domain;
	const char *devname;
	int force, readonly, nohistory;
	int escape;
	unsigned linger_ms;
};
int console_run(struct client *c, const struct console_opts *o);

/* util.c: allocations that end the client when memory runs out. */
void *xmalloc(size_t size);
void *xreallocarray(void *old, size_t n, size_t size);
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* list.c */
int list_run(struct client *c, int json);

#endif
