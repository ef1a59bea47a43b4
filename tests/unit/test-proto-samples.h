/*
 * Sample messages of every type, and a field-by-field comparison, shared by
 * the proto unit tests.
 */
#ifndef CONBROKER_TEST_PROTO_SAMPLES_H
#define CONBROKER_TEST_PROTO_SAMPLES_H

#include <stdbool.h>
#include <string.h>

#include "proto/proto.h"

static const uint16_t sample_types[] = {
	PROTO_HELLO, PROTO_OPEN, PROTO_OPENED, PROTO_DATA, PROTO_RESIZE,
	PROTO_HEARTBEAT, PROTO_NOTICE, PROTO_DETACH, PROTO_CLOSED, PROTO_ERROR,
	PROTO_LIST, PROTO_LIST_ENTRY, PROTO_LIST_END,
};
#define SAMPLE_NTYPES (sizeof(sample_types) / sizeof(sample_types[0]))

static const uint8_t sample_bytes[] = { 0x00, 0xff, 0x1b, '[', 'H', 0x00, 0x7f };

/* A message of the given type with a distinctive value in every field. */
__attribute__((unused))
static void sample_msg(uint16_t type, struct proto_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = (enum proto_type)type;
	switch (type) {
	case PROTO_HELLO:
		m->u.hello.version = PROTO_VERSION;
		m->u.hello.heartbeat_ms = 10000;
		m->u.hello.software = proto_str("conbroker 0.1.0");
		break;
	case PROTO_OPEN:
		m->u.open.domain = proto_str("demo");
		m->u.open.devname = proto_str("serial0");
		m->u.open.flags = PROTO_OPEN_FORCE | PROTO_OPEN_NOHISTORY;
		m->u.open.rows = 50;
		m->u.open.cols = 132;
		break;
	case PROTO_OPENED:
		m->u.opened.domain = proto_str("demo");
		m->u.opened.uuid = proto_str("c7a5fdbd-edaf-9455-926a-d65c16db1809");
		m->u.opened.alias = proto_str("console0");
		m->u.opened.flags = PROTO_OPEN_READONLY;
		m->u.opened.notice = proto_str("took over from root (pid 42)");
		break;
	case PROTO_DATA:
		m->u.data.ptr = sample_bytes;
		m->u.data.len = sizeof(sample_bytes);
		break;
	case PROTO_RESIZE:
		m->u.resize.rows = 0xfffe;
		m->u.resize.cols = 0x0102;
		break;
	case PROTO_NOTICE:
		m->u.notice.kind = PROTO_NOTICE_MISSED;
		m->u.notice.count = 0x0123456789abcdefULL;
		m->u.notice.text = proto_str("missed output");
		break;
	case PROTO_CLOSED:
		m->u.status.code = PROTO_CODE_TAKEOVER;
		m->u.status.message = proto_str("taken over by alice");
		break;
	case PROTO_ERROR:
		m->u.status.code = PROTO_CODE_BUSY;
		m->u.status.message = proto_str("");
		break;
	case PROTO_LIST:
		m->u.list.flags = 0;
		break;
	case PROTO_LIST_ENTRY:
		m->u.entry.domain = proto_str("web1");
		m->u.entry.uuid = proto_str("00000000-0000-0000-0000-000000000001");
		m->u.entry.alias = proto_str("serial0");
		m->u.entry.pty = proto_str("/dev/pts/7");
		m->u.entry.state = PROTO_STATE_LOCKED;
		m->u.entry.watchers = 3;
		m->u.entry.idle = 0x80000001u;
		m->u.entry.holder_pid = 4242;
		m->u.entry.holder = proto_str("minicom");
		break;
	default:
		break;
	}
}

__attribute__((unused))
static bool sample_str_eq(struct proto_str a, struct proto_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Whether two messages carry the same values (strings compared by content). */
__attribute__((unused))
static bool sample_equal(const struct proto_msg *a, const struct proto_msg *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case PROTO_HELLO:
		return a->u.hello.version == b->u.hello.version &&
		    a->u.hello.heartbeat_ms == b->u.hello.heartbeat_ms &&
		    sample_str_eq(a->u.hello.software, b->u.hello.software);
	case PROTO_OPEN:
		return sample_str_eq(a->u.open.domain, b->u.open.domain) &&
		    sample_str_eq(a->u.open.devname, b->u.open.devname) &&
		    a->u.open.flags == b->u.open.flags &&
		    a->u.open.rows == b->u.open.rows &&
		    a->u.open.cols == b->u.open.cols;
	case PROTO_OPENED:
		return sample_str_eq(a->u.opened.domain, b->u.opened.domain) &&
		    sample_str_eq(a->u.opened.uuid, b->u.opened.uuid) &&
		    sample_str_eq(a->u.opened.alias, b->u.opened.alias) &&
		    a->u.opened.flags == b->u.opened.flags &&
		    sample_str_eq(a->u.opened.notice, b->u.opened.notice);
	case PROTO_DATA:
		return a->u.data.len == b->u.data.len &&
		    memcmp(a->u.data.ptr, b->u.data.ptr, a->u.data.len) == 0;
	case PROTO_RESIZE:
		return a->u.resize.rows == b->u.resize.rows &&
		    a->u.resize.cols == b->u.resize.cols;
	case PROTO_NOTICE:
		return a->u.notice.kind == b->u.notice.kind &&
		    a->u.notice.count == b->u.notice.count &&
		    sample_str_eq(a->u.notice.text, b->u.notice.text);
	case PROTO_CLOSED:
	case PROTO_ERROR:
		return a->u.status.code == b->u.status.code &&
		    sample_str_eq(a->u.status.message, b->u.status.message);
	case PROTO_LIST:
		return a->u.list.flags == b->u.list.flags;
	case PROTO_LIST_ENTRY:
		return sample_str_eq(a->u.entry.domain, b->u.entry.domain) &&
		    sample_str_eq(a->u.entry.uuid, b->u.entry.uuid) &&
		    sample_str_eq(a->u.entry.alias, b->u.entry.alias) &&
		    sample_str_eq(a->u.entry.pty, b->u.entry.pty) &&
		    a->u.entry.state == b->u.entry.state &&
		    a->u.entry.watchers == b->u.entry.watchers &&
		    a->u.entry.idle == b->u.entry.idle &&
		    a->u.entry.holder_pid == b->u.entry.holder_pid &&
		    sample_str_eq(a->u.entry.holder, b->u.entry.holder);
	case PROTO_HEARTBEAT:
	case PROTO_DETACH:
	case PROTO_LIST_END:
		return true;
	}
	return false;
}

/* The string fields of a message, in wire order; returns how many. */
__attribute__((unused))
static size_t sample_strings(struct proto_msg *m, struct proto_str **out)
{
	size_t n = 0;

	switch (m->type) {
	case PROTO_HELLO:
		out[n++] = &m->u.hello.software;
		break;
	case PROTO_OPEN:
		out[n++] = &m->u.open.domain;
		out[n++] = &m->u.open.devname;
		break;
	case PROTO_OPENED:
		out[n++] = &m->u.opened.domain;
		out[n++] = &m->u.opened.uuid;
		out[n++] = &m->u.opened.alias;
		out[n++] = &m->u.opened.notice;
		break;
	case PROTO_NOTICE:
		out[n++] = &m->u.notice.text;
		break;
	case PROTO_CLOSED:
	case PROTO_ERROR:
		out[n++] = &m->u.status.message;
		break;
	case PROTO_LIST_ENTRY:
		out[n++] = &m->u.entry.domain;
		out[n++] = &m->u.entry.uuid;
		out[n++] = &m->u.entry.alias;
		out[n++] = &m->u.entry.pty;
		out[n++] = &m->u.entry.holder;
		break;
	default:
		break;
	}
	return n;
}

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t sample_rng_state = 0x9e3779b97f4a7c15ULL;

__attribute__((unused))
static uint64_t sample_rand(void)
{
	uint64_t x = sample_rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sample_rng_state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#endif
