/*
 * access: who a peer is (SO_PEERCRED and its groups for Unix peers; the
 * address, or the PROXY header's client address and verified TLS CN, for TCP
 * peers) and what it may do with a console.
 *
 * Without an <access> element the rule is libvirt's: whoever can connect to
 * the Unix socket may do everything, and TCP peers may do nothing.  With one,
 * the grants decide for every transport; root and the daemon's own user keep
 * every right over the Unix socket, since they could open the device anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/daemon.h"

/* An IPv4 client seen through a dual-stack socket is an IPv4 client. */
static void access_unmap(struct peer *p)
{
	static const unsigned char mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (p->family == AF_INET6 && memcmp(p->addr_bin, mapped, 12) == 0) {
		memmove(p->addr_bin, p->addr_bin + 12, 4);
		p->family = AF_INET;
	}
}

/* "[v6]:port" or "a.b.c.d:port" from the binary address, and the identity
 * that limits count for an address: the host, whatever its port. */
static void access_format_addr(struct peer *p, unsigned port)
{
	char host[INET6_ADDRSTRLEN] = "?";

	inet_ntop(p->family, p->addr_bin, host, sizeof(host));
	snprintf(p->addr, sizeof(p->addr), "%s%s%s:%u", p->family == AF_INET6 ? "[" : "",
	    host, p->family == AF_INET6 ? "]" : "", port);
	snprintf(p->ident, sizeof(p->ident), "address %s%s%s",
	    p->family == AF_INET6 ? "[" : "", host, p->family == AF_INET6 ? "]" : "");
}

/*
 * The supplementary groups of a Unix peer.  The kernel answers ERANGE with
 * the size it needs when the buffer is short: ask again with that size, so a
 * user in many groups keeps every group grant.
 */
static void access_groups(struct peer *p, int fd)
{
	socklen_t len = 64 * sizeof(gid_t);
	int tries;

	for (tries = 0; tries < 4; tries++) {
		p->groups = xreallocarray(p->groups, len / sizeof(gid_t) + 1, sizeof(gid_t));
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0) {
			p->ngroups = (int)(len / sizeof(gid_t));
			return;
		}
		if (errno != ERANGE)
			break;
	}
	log_warn("%s: cannot read the supplementary groups of the peer: %s", p->desc,
	    strerror(errno));
	p->ngroups = 0;
}

/* A Unix peer: uid, pid, primary and supplementary groups. */
static void access_identify_unix(struct peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct passwd pw, *res = NULL;
	char buf[1024];
	uv_os_fd_t fd;

	if (uv_fileno(&p->io.handle, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		snprintf(p->desc, sizeof(p->desc), "client #%llu via unix",
		    (unsigned long long)p->id);
		snprintf(p->ident, sizeof(p->ident), "client#%llu", (unsigned long long)p->id);
		return;
	}
	p->uid = cred.uid;
	p->pid = cred.pid;
	p->gid = cred.gid;
	getpwuid_r(cred.uid, &pw, buf, sizeof(buf), &res);
	snprintf(p->desc, sizeof(p->desc), "uid %u (%s) pid %d via unix",
	    (unsigned)cred.uid, res ? res->pw_name : "?", (int)cred.pid);
	snprintf(p->ident, sizeof(p->ident), "uid %u", (unsigned)cred.uid);
	access_groups(p, fd);
}

/* Who is on the other end, for every log line, message and decision. */
void access_identify(struct peer *p)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	unsigned port = 0;

	if (p->transport == PEER_UNIX) {
		access_identify_unix(p);
		return;
	}
	p->family = AF_UNSPEC;
	if (uv_tcp_getpeername(&p->io.tcp, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

			p->family = AF_INET6;
			memcpy(p->addr_bin, &a->sin6_addr, 16);
			port = ntohs(a->sin6_port);
		} else {
			struct sockaddr_in *a = (struct sockaddr_in *)&ss;

			p->family = AF_INET;
			memcpy(p->addr_bin, &a->sin_addr, 4);
			port = ntohs(a->sin_port);
		}
		access_unmap(p);
	}
	access_format_addr(p, port);
	snprintf(p->desc, sizeof(p->desc), "%s via tcp", p->addr);
}

/* The PROXY header names the real client, and the TLS identity it proved. */
void access_proxy(struct peer *p, const struct proto_proxy *px)
{
	char proxy_addr[64];

	snprintf(proxy_addr, sizeof(proxy_addr), "%s", p->addr);
	if (!px->local && px->family != AF_UNSPEC &&
	    inet_pton(px->family, px->src_addr, p->addr_bin) == 1) {
		p->family = px->family;
		access_unmap(p);
		access_format_addr(p, px->src_port);
	}
	if (px->tls && px->tls_cert_verified && px->tls_cn[0])
		snprintf(p->cn, sizeof(p->cn), "%s", px->tls_cn);
	if (p->cn[0]) {
		snprintf(p->desc, sizeof(p->desc), "CN=%s (%s) via tls proxy %s", p->cn,
		    p->addr, proxy_addr);
		snprintf(p->ident, sizeof(p->ident), "CN %s", p->cn);
	} else {
		snprintf(p->desc, sizeof(p->desc), "%s via %s proxy %s", p->addr,
		    px->tls ? "tls" : "tcp", proxy_addr);
	}
}

/* A user grant by name or number. */
static int access_match_user(const struct peer *p, const char *name)
{
	struct passwd pw, *res = NULL;
	char buf[1024], *end;
	unsigned long id = strtoul(name, &end, 10);

	if (*end == '\0')
		return (uid_t)id == p->uid;
	getpwnam_r(name, &pw, buf, sizeof(buf), &res);
	return res != NULL && res->pw_uid == p->uid;
}

/* A group grant: the peer's primary group or one of its supplementary ones. */
static int access_match_group(const struct peer *p, const char *name)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long id = strtoul(name, &end, 10);
	gid_t gid;
	int i;

	if (*end == '\0') {
		gid = (gid_t)id;
	} else {
		getgrnam_r(name, &gr, buf, sizeof(buf), &res);
		if (res == NULL)
			return 0;
		gid = res->gr_gid;
	}
	if (gid == p->gid)
		return 1;
	for (i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return 1;
	return 0;
}

static int access_match_address(const struct peer *p, const struct conf_grant *g)
{
	unsigned i;

	if (p->family != g->family)
		return 0;
	for (i = 0; i < g->prefix; i++) {
		unsigned char bit = (unsigned char)(0x80 >> (i % 8));

		if ((p->addr_bin[i / 8] & bit) != (g->addr[i / 8] & bit))
			return 0;
	}
	return 1;
}

static int access_match(const struct peer *p, const struct conf_grant *g)
{
	switch (g->who) {
	case CONF_WHO_USER:
		return p->transport == PEER_UNIX && p->uid != (uid_t)-1 &&
		    access_match_user(p, g->name);
	case CONF_WHO_GROUP:
		return p->transport == PEER_UNIX && p->uid != (uid_t)-1 &&
		    access_match_group(p, g->name);
	case CONF_WHO_CN:
		return p->transport == PEER_TCP && p->cn[0] && strcmp(p->cn, g->name) == 0;
	case CONF_WHO_ADDRESS:
		return p->transport == PEER_TCP && access_match_address(p, g);
	}
	return 0;
}

/* The rights of a peer on one console. */
unsigned access_rights(const struct server *s, const struct peer *p,
    const struct conf_domain *d, const struct conf_console *cc)
{
	const struct conf *conf = s->conf;
	unsigned rights = 0;
	size_t i;

	if (p->transport == PEER_UNIX) {
		if (!conf->access_rules)
			return CONF_RIGHTS_ALL;
		if (p->uid == 0 || p->uid == geteuid())
			return CONF_RIGHTS_ALL;
	}
	for (i = 0; i < conf->ngrants; i++) {
		const struct conf_grant *g = &conf->grants[i];

		if ((rights | g->rights) == rights)
			continue;
		if (fnmatch(g->domain, d->name, 0) != 0 && fnmatch(g->domain, d->uuid_str, 0) != 0)
			continue;
		if (fnmatch(g->console, cc->alias, 0) != 0)
			continue;
		if (access_match(p, g))
			rights |= g->rights;
	}
	return rights;
}

/* How many connections that said hello share this peer's identity. */
unsigned access_count(const struct server *s, const struct peer *p)
{
	const struct peer *q;
	unsigned n = 0;

	TAILQ_FOREACH(q, &s->peers, entry)
		if (q != p && q->state == PEER_READY && strcmp(q->ident, p->ident) == 0)
			n++;
	return n;
}
