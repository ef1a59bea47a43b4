/*
 * list: the answer to LIST — every console of every domain that the peer may
 * watch, in the registry's order, each with its state from console_status()
 * (the function OPEN decides by) and, when attached, its sessions.
 */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"

/* One LIST_ENTRY frame. */
static void list_entry(struct peer *p, const struct conf_domain *d,
    const struct conf_console *cc)
{
	struct console *c = server_find_console(p->server, d, cc);
	struct console_status st;
	struct session *w;
	struct proto_msg e;

	console_status(p->server, c, d, cc, 1, &st);
	memset(&e, 0, sizeof(e));
	e.type = PROTO_LIST_ENTRY;
	e.u.entry.domain = proto_str(d->name);
	e.u.entry.uuid = proto_str(d->uuid_str);
	e.u.entry.alias = proto_str(cc->alias);
	e.u.entry.pty = proto_str(cc->pty_path ? cc->pty_path : "");
	e.u.entry.holder = proto_str("");
	e.u.entry.state = st.state;
	switch (st.state) {
	case PROTO_STATE_UNSUPPORTED:
		e.u.entry.holder = proto_str(cc->source_type ? cc->source_type : "");
		break;
	case PROTO_STATE_ATTACHED:
		e.u.entry.watchers = session_watchers(c);
		w = session_writer(c);
		if (w == NULL)
			break;
		if (session_is_stale(w))
			e.u.entry.state = PROTO_STATE_STALE;
		e.u.entry.holder = proto_str(session_who(w));
		e.u.entry.idle = (uint32_t)((server_now_ms(p->server) - w->last_input_ms) / 1000);
		break;
	case PROTO_STATE_LOCKED:
		e.u.entry.holder_pid = (uint32_t)st.holder.pid;
		e.u.entry.holder = proto_str(st.holder.program[0] ? st.holder.program :
		    lock_kind_name(st.holder.kind));
		break;
	case PROTO_STATE_NOTRUNNING:
	case PROTO_STATE_UNOWNED:
		if (st.why != NULL)
			e.u.entry.holder = proto_str(st.why);
		break;
	}
	peer_send(p, &e);
	free(st.why);
}

void list_send(struct peer *p)
{
	const struct conf *conf = p->server->conf;
	struct proto_msg end;
	size_t i, j;

	for (i = 0; i < conf->ndomains && !peer_closing(p); i++)
		for (j = 0; j < conf->domains[i].nconsoles; j++)
			if (access_rights(p->server, p, &conf->domains[i],
			    &conf->domains[i].consoles[j]) & CONF_RIGHT_WATCH)
				list_entry(p, &conf->domains[i], &conf->domains[i].consoles[j]);
	memset(&end, 0, sizeof(end));
	end.type = PROTO_LIST_END;
	peer_send(p, &end);
}
