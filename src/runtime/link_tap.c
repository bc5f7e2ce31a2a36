/* link_tap.c — the TAP device: attach, read and write frames, the vnet
 * header and its offloads (partial checksums, TSO). */
#define _GNU_SOURCE

#include "runtime/link_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "wire/wire.h"

/* The 2-byte checksum field at start + offset lies inside the frame. */
static bool csum_fits(size_t len, size_t start, size_t offset)
{
	return start < len && len - start >= 2 && offset <= len - start - 2;
}

static int fail(struct tap_dev *t, int err, char *msg, size_t len, const char *fmt,
		const char *what)
{
	snprintf(msg, len, fmt, what, strerror(err));
	tap_close(t);
	return -err;
}

/* TUNSETIFF's errors, in words a user can act on. */
static const char *setiff_hint(int err)
{
	switch (err) {
	case EBUSY:
		return "%s: device is in use by another process (%s)";
	case EINVAL:
		return "%s: exists but is not a single-queue TAP device (%s)";
	case EPERM:
		return "%s: not permitted to attach (needs CAP_NET_ADMIN or the device's "
		       "owner) (%s)";
	default:
		return "%s: cannot attach to the TAP device (%s)";
	}
}

int tap_open(struct tap_dev *t, const char *ifname, bool want_vnet, bool want_tso, char *err,
	     size_t errlen)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ) {
		snprintf(err, errlen, "TAP device name '%s' must be 1 to %d characters",
			 ifname ? ifname : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifname);
	t->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (t->fd < 0)
		return fail(t, errno, err, errlen, "cannot open %s: %s", "/dev/net/tun");

	unsigned int features = 0;
	if (ioctl(t->fd, TUNGETFEATURES, &features) < 0)
		features = 0; /* a kernel too old to say offers nothing optional */
	t->vnet = want_vnet && (features & IFF_VNET_HDR);

	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, strlen(t->name));
	ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (t->vnet ? IFF_VNET_HDR : 0));
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		return fail(t, e, err, errlen, setiff_hint(e), t->name);
	}
	if (t->vnet) {
		int size = (int)sizeof(struct virtio_net_hdr);
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &size) < 0)
			return fail(t, errno, err, errlen, "%s: TUNSETVNETHDRSZ: %s", t->name);
		/* What we can take from the kernel: partial checksums, and with
		 * TSO TCP segments of up to 64 KiB over IPv4 and IPv6 (the
		 * stack's largest). Not TUN_F_TSO_ECN: the stack does no ECN. */
		unsigned long off = TUN_F_CSUM | (want_tso ? TUN_F_TSO4 | TUN_F_TSO6 : 0);
		if (ioctl(t->fd, TUNSETOFFLOAD, off) < 0)
			return fail(t, errno, err, errlen, "%s: TUNSETOFFLOAD: %s", t->name);
		t->tso = want_tso;
	} else {
		/* A previous owner may have left offloads on; without the header
		 * we could not tell a partial checksum from a bad one. */
		(void)ioctl(t->fd, TUNSETOFFLOAD, 0ul);
	}
	return 0;
}

/* The kernel turns the carrier on when we attach, but its side of the
 * device starts sending only after its link watcher has run (until then its
 * queue discipline drops everything, our first ARP's reply included). */
int tap_wait_running(const struct tap_dev *t, int timeout_ms)
{
	if (t->adopted)
		return 0; /* not a device: nothing to wait for */
	int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sk < 0)
		return -errno;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, strlen(t->name));
	int rc = -ETIMEDOUT;
	for (int waited = 0; waited <= timeout_ms; waited++) {
		if (ioctl(sk, SIOCGIFFLAGS, &ifr) < 0) {
			rc = -errno;
			break;
		}
		if (!(ifr.ifr_flags & IFF_UP)) {
			rc = -ENETDOWN; /* administratively down: nothing to wait for */
			break;
		}
		if (ifr.ifr_flags & IFF_RUNNING) {
			/* The watcher marks the device running just before it
			 * starts the queue: give it a moment when we saw it happen. */
			if (waited > 0)
				nanosleep(&(struct timespec){0, 1000000}, NULL);
			rc = 0;
			break;
		}
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	close(sk);
	return rc;
}

int tap_adopt(struct tap_dev *t, int fd, const char *name)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	t->fd = fd;
	t->adopted = true;
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "link");
	return 0;
}

void tap_close(struct tap_dev *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

/* The virtio GSO type that matches the frame's EtherType; NONE for any
 * frame that is not TCP's to cut (the caller refuses it). */
static uint8_t gso_type_of(const uint8_t *frame, size_t len)
{
	if (len < ETH_HLEN)
		return VIRTIO_NET_HDR_GSO_NONE;
	switch (rd16(frame + 12)) {
	case ETHERTYPE_IPV4:
		return VIRTIO_NET_HDR_GSO_TCPV4;
	case ETHERTYPE_IPV6:
		return VIRTIO_NET_HDR_GSO_TCPV6;
	default:
		return VIRTIO_NET_HDR_GSO_NONE;
	}
}

bool tap_complete_csum(uint8_t *frame, size_t len, size_t start, size_t offset)
{
	if (!csum_fits(len, start, offset))
		return false;
	uint16_t c = inet_checksum(frame + start, len - start);
	memcpy(frame + start + offset, &c, 2);
	return true;
}

long tap_read(struct tap_dev *t, uint8_t *buf, size_t cap, uint8_t **frame, struct tap_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	ssize_t n = read(t->fd, buf, cap);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n > cap) {
		/* The device says how long the frame was, not how much of it
		 * fitted: a cut frame must not reach the stack. */
		t->rx_malformed++;
		return 0;
	}
	if (!t->vnet) {
		*frame = buf;
		return n;
	}
	struct virtio_net_hdr vh;
	if ((size_t)n < sizeof(vh)) {
		t->rx_malformed++;
		return 0;
	}
	memcpy(&vh, buf, sizeof(vh));
	*frame = buf + sizeof(vh);
	size_t len = (size_t)n - sizeof(vh);
	/* The fields are in the host's order: we never asked for TUNSETVNETLE/BE. */
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		/* Only what TUNSETOFFLOAD allowed (TCP over IPv4 or IPv6, without
		 * ECN), and of the family the frame is. */
		if (!t->tso || vh.gso_type != gso_type_of(*frame, len)) {
			t->rx_malformed++;
			return 0;
		}
		rx->gso = true;
	}
	if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!csum_fits(len, vh.csum_start, vh.csum_offset)) {
			t->rx_malformed++;
			return 0;
		}
		rx->csum_partial = true;
		rx->csum_start = vh.csum_start;
		rx->csum_offset = vh.csum_offset;
	}
	/* A partial checksum comes from the host's own stack (CHECKSUM_PARTIAL),
	 * DATA_VALID from one that checked it: both are trusted. */
	rx->csum_ok = (vh.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) != 0;
	return (long)len;
}

int tap_write(struct tap_dev *t, const uint8_t *frame, size_t len, const struct ustcp_tx_meta *meta)
{
	struct virtio_net_hdr vh;
	memset(&vh, 0, sizeof(vh));
	if (meta && meta->csum_partial) {
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = meta->csum_start;
		vh.csum_offset = meta->csum_offset;
	}
	if (meta && meta->gso_size) {
		vh.gso_type = gso_type_of(frame, len);
		if (vh.gso_type == VIRTIO_NET_HDR_GSO_NONE)
			return -EINVAL;
		vh.gso_size = meta->gso_size;
		vh.hdr_len = meta->hdr_len;
	}
	if (!t->vnet && (vh.flags || vh.gso_type))
		return -EINVAL; /* no way to tell the kernel: never offered */
	/* The frame, and its payload where the stack left it (one write of
	 * the pieces: TAP takes a frame per write). */
	struct iovec iov[4] = {
		{.iov_base = &vh, .iov_len = sizeof(vh)},
		{.iov_base = (void *)frame, .iov_len = len},
	};
	int cnt = 2;
	for (int i = 0; meta && i < 2 && meta->data_len[i]; i++)
		iov[cnt++] = (struct iovec){.iov_base = (void *)meta->data[i],
					    .iov_len = meta->data_len[i]};
	struct iovec *v = t->vnet ? iov : iov + 1;
	ssize_t n = writev(t->fd, v, t->vnet ? cnt : cnt - 1);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}
