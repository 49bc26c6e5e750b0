/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nlfake.c - LD_PRELOAD shim that answers "ip link show" dumps with
 * crafted RTM_NEWLINK messages, so that iproute2's printing code can be
 * tested without a kernel that produces them (no fan module needed).
 *
 * NLFAKE_DUMP=FILE names a file of concatenated netlink messages (each
 * NLMSG_ALIGNed).  Every RTM_GETLINK dump request sent on a netlink
 * socket is swallowed and answered with those messages, given the
 * request's sequence number and the socket's port id, followed by
 * NLMSG_DONE.  A single-link RTM_GETLINK (by index or IFLA_IFNAME) is
 * answered with the matching message, or ENODEV.  Everything else goes
 * to the kernel untouched, so "ip link change dev LINK ..." reads LINK
 * from the file and sends its change request to the real kernel.
 *
 * Build: gcc -shared -fPIC -o nlfake.so nlfake.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

static char *reply;		/* pending answer, or NULL */
static size_t reply_len;
static int reply_fd = -1;

static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);

static void init(void)
{
	if (real_send)
		return;
	real_send = dlsym(RTLD_NEXT, "send");
	real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
	real_recv = dlsym(RTLD_NEXT, "recv");
	real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
}

static int is_netlink(int fd, __u32 *port)
{
	struct sockaddr_nl sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 ||
	    sa.nl_family != AF_NETLINK)
		return 0;
	*port = sa.nl_pid;
	return 1;
}

static char *read_file(const char *path, size_t *len)
{
	char *buf;
	FILE *f;

	f = fopen(path, "rb");
	if (!f) {
		perror("nlfake: NLFAKE_DUMP");
		exit(99);
	}
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	/* room for NLMSG_DONE or an error message after the file */
	buf = calloc(1, *len + NLMSG_LENGTH(sizeof(struct nlmsgerr)) + 64);
	if (!buf || fread(buf, 1, *len, f) != *len) {
		fprintf(stderr, "nlfake: cannot read %s\n", path);
		exit(99);
	}
	fclose(f);
	return buf;
}

static const char *link_name(const struct nlmsghdr *h)
{
	const struct rtattr *rta = IFLA_RTA(NLMSG_DATA(h));
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof(struct ifinfomsg));

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == IFLA_IFNAME)
			return RTA_DATA(rta);
	return NULL;
}

static void set_reply(int fd, char *buf, size_t len)
{
	free(reply);
	reply = buf;
	reply_len = len;
	reply_fd = fd;
}

/* Answer a single-link request with the matching link, or ENODEV. */
static void answer_one(int fd, const struct nlmsghdr *req, __u32 port,
		       char *file, size_t file_len)
{
	const struct ifinfomsg *want = NLMSG_DATA(req);
	const char *want_name = link_name(req);
	struct nlmsgerr *err;
	struct nlmsghdr *h;
	size_t off;
	char *buf;

	for (off = 0; off + sizeof(*h) <= file_len;
	     off += NLMSG_ALIGN(h->nlmsg_len)) {
		const struct ifinfomsg *ifi;
		const char *name;

		h = (struct nlmsghdr *)(file + off);
		ifi = NLMSG_DATA(h);
		name = link_name(h);
		if (want->ifi_index ? ifi->ifi_index == want->ifi_index :
		    (want_name && name && strcmp(name, want_name) == 0)) {
			buf = malloc(h->nlmsg_len);
			memcpy(buf, h, h->nlmsg_len);
			h = (struct nlmsghdr *)buf;
			h->nlmsg_seq = req->nlmsg_seq;
			h->nlmsg_pid = port;
			h->nlmsg_flags = 0;
			set_reply(fd, buf, h->nlmsg_len);
			free(file);
			return;
		}
	}
	free(file);
	buf = calloc(1, NLMSG_LENGTH(sizeof(*err)));
	h = (struct nlmsghdr *)buf;
	h->nlmsg_len = NLMSG_LENGTH(sizeof(*err));
	h->nlmsg_type = NLMSG_ERROR;
	h->nlmsg_flags = NLM_F_CAPPED;
	h->nlmsg_seq = req->nlmsg_seq;
	h->nlmsg_pid = port;
	err = NLMSG_DATA(h);
	err->error = -ENODEV;
	err->msg = *req;
	set_reply(fd, buf, h->nlmsg_len);
}

/* Returns 1 if the request was a link query and an answer is now pending. */
static int intercept(int fd, const void *buf, size_t len)
{
	const struct nlmsghdr *req = buf;
	const char *path = getenv("NLFAKE_DUMP");
	struct nlmsghdr *h, *done;
	size_t file_len, off;
	char *file;
	__u32 port;

	if (!path || len < NLMSG_LENGTH(sizeof(struct ifinfomsg)) ||
	    req->nlmsg_type != RTM_GETLINK || !is_netlink(fd, &port))
		return 0;

	file = read_file(path, &file_len);
	if (!(req->nlmsg_flags & NLM_F_DUMP)) {
		answer_one(fd, req, port, file, file_len);
		return 1;
	}

	for (off = 0; off + sizeof(*h) <= file_len;
	     off += NLMSG_ALIGN(h->nlmsg_len)) {
		h = (struct nlmsghdr *)(file + off);
		if (h->nlmsg_len < sizeof(*h)) {
			fprintf(stderr, "nlfake: bad message at %zu\n", off);
			exit(99);
		}
		h->nlmsg_seq = req->nlmsg_seq;
		h->nlmsg_pid = port;
		h->nlmsg_flags |= NLM_F_MULTI;
	}
	done = (struct nlmsghdr *)(file + file_len);
	done->nlmsg_len = NLMSG_LENGTH(sizeof(int));
	done->nlmsg_type = NLMSG_DONE;
	done->nlmsg_flags = NLM_F_MULTI;
	done->nlmsg_seq = req->nlmsg_seq;
	done->nlmsg_pid = port;
	set_reply(fd, file, file_len + done->nlmsg_len);
	return 1;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	init();
	if (intercept(fd, buf, len))
		return len;
	return real_send(fd, buf, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	init();
	if (msg->msg_iovlen >= 1 &&
	    intercept(fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len)) {
		size_t i, total = 0;

		for (i = 0; i < msg->msg_iovlen; i++)
			total += msg->msg_iov[i].iov_len;
		return total;
	}
	return real_sendmsg(fd, msg, flags);
}

static ssize_t deliver(void *buf, size_t len, int flags)
{
	size_t n = len < reply_len ? len : reply_len;

	memcpy(buf, reply, n);
	if (flags & MSG_PEEK)
		return (flags & MSG_TRUNC) ? (ssize_t)reply_len : (ssize_t)n;
	free(reply);
	reply = NULL;
	reply_fd = -1;
	return (flags & MSG_TRUNC) ? (ssize_t)reply_len : (ssize_t)n;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	init();
	if (reply && fd == reply_fd && msg->msg_iovlen >= 1) {
		if (msg->msg_name &&
		    msg->msg_namelen >= sizeof(struct sockaddr_nl)) {
			struct sockaddr_nl *sa = msg->msg_name;

			memset(sa, 0, sizeof(*sa));
			sa->nl_family = AF_NETLINK;
			msg->msg_namelen = sizeof(*sa);
		}
		msg->msg_flags = 0;
		return deliver(msg->msg_iov[0].iov_base,
			       msg->msg_iov[0].iov_len, flags);
	}
	return real_recvmsg(fd, msg, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	init();
	if (reply && fd == reply_fd)
		return deliver(buf, len, flags);
	return real_recv(fd, buf, len, flags);
}
