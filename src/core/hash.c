/* hash.c — SipHash-2-4 through libsodium's crypto_shorthash. */
#include "core/hash.h"

#include <sodium.h>
#include <string.h>

_Static_assert(crypto_shorthash_KEYBYTES == HASH_KEY_LEN, "SipHash key size");

uint64_t hash_keyed(const uint8_t key[HASH_KEY_LEN], const void *data, size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, data, len, key);
	uint64_t h;
	memcpy(&h, out, sizeof(h));
	return h;
}
