/* link_tap.h — a Linux TAP device as a pipe of Ethernet frames.
 *
 * tap_open() attaches to the TAP device of that name (creating it when it
 * does not exist) on a non-blocking file descriptor, without packet info.
 * With the vnet header (IFF_VNET_HDR) frames carry offload metadata both
 * ways: the kernel may hand over frames whose TCP checksum is left partial
 * (TUN_F_CSUM) and, with TSO, TCP segments of up to 64 KiB (TUN_F_TSO4);
 * tap_read() says so in its struct tap_rx. tap_write() passes the stack's
 * struct ustcp_tx_meta on the same way (partial checksum, gso_size), so the
 * kernel finishes and cuts what the stack left to it.
 * Nothing here knows about the stack's state; the runtime drives it. */
#ifndef USTCP_LINK_TAP_H
#define USTCP_LINK_TAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ustcp/stack.h"

/* Room for any frame the kernel may write (an IP datagram of 64 KiB plus
 * the Ethernet header), and for the vnet header before it. */
#define TAP_FRAME_MAX (14 + 65535)
#define TAP_BUF_SIZE (TAP_FRAME_MAX + 16)

struct tap_dev {
	int fd;
	bool vnet;             /* frames carry a struct virtio_net_hdr */
	bool tso;              /* the kernel may send TCP segments of up to 64 KiB */
	char name[16];         /* IFNAMSIZ */
	bool adopted;          /* a datagram socket given by the caller, not a device */
	uint64_t rx_malformed; /* frames dropped: bad vnet header, or GSO we did not ask for */
};

/* What the vnet header said of a frame read. */
struct tap_rx {
	bool csum_ok;      /* the kernel built the checksum, or left it partial (trusted) */
	bool csum_partial; /* the TCP/UDP checksum field holds only the pseudo-header sum */
	bool gso;          /* a TCP segment larger than the MTU */
	uint16_t csum_start, csum_offset;
};

/* Opens (or creates) the device. want_vnet asks for the vnet header (used
 * when the kernel offers it), want_tso for segmentation offload on top of
 * it. Returns 0 or a negative errno, with a message naming the step that
 * failed in err. */
int tap_open(struct tap_dev *t, const char *ifname, bool want_vnet, bool want_tso, char *err,
	     size_t errlen);
/* Uses fd, a datagram socket whose every message is one Ethernet frame
 * (one end of socketpair(AF_UNIX, SOCK_DGRAM)), as the link: no vnet
 * header, no offloads. It is closed with the link. Returns 0 or -errno. */
int tap_adopt(struct tap_dev *t, int fd, const char *name);
void tap_close(struct tap_dev *t);
/* Waits up to timeout_ms for the kernel's side of the device to run (it
 * drops what it would send until then). Returns 0, -ENETDOWN when the
 * device is administratively down, -ETIMEDOUT, or another negative errno. */
int tap_wait_running(const struct tap_dev *t, int timeout_ms);

/* Reads one frame into buf (TAP_BUF_SIZE bytes or more); *frame points at
 * its Ethernet header inside buf and rx says what the vnet header told.
 * Returns its length, 0 for a frame read but dropped (counted in
 * rx_malformed), -EAGAIN when none is waiting, or another negative errno. */
long tap_read(struct tap_dev *t, uint8_t *buf, size_t cap, uint8_t **frame, struct tap_rx *rx);
/* Writes one frame; meta (NULL: none) asks the kernel to finish its
 * checksum and cut it into gso_size pieces. Returns 0, -EAGAIN when the
 * device's queue is full, or a negative errno (-EIO while it is down). */
int tap_write(struct tap_dev *t, const uint8_t *frame, size_t len,
	      const struct ustcp_tx_meta *meta);

/* Completes a partial checksum the way virtio asks: the 16-bit one's
 * complement sum over frame[start, len), which includes the pseudo-header
 * sum the sender left in the field, stored at start + offset. Returns false
 * when the offsets do not fit in the frame. */
bool tap_complete_csum(uint8_t *frame, size_t len, size_t start, size_t offset);

#endif
