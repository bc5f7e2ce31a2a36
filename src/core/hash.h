/* hash.h — keyed hashing (SipHash-2-4 from libsodium).
 *
 * Used where an attacker must not predict the output: the connection table's
 * bucket choice, ISNs (RFC 6528) and ephemeral ports (RFC 6056). */
#ifndef USTCP_HASH_H
#define USTCP_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_KEY_LEN 16

uint64_t hash_keyed(const uint8_t key[HASH_KEY_LEN], const void *data, size_t len);

#endif
