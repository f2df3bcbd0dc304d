/* SHA-256 (FIPS 180-4), for content hashes that users can check with
 * `sha256sum`: an adapter records the hash of its base model's config.json. */
#ifndef RLC_BASE_SHA256_H
#define RLC_BASE_SHA256_H

#include "base/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rlc_sha256 {
    uint32_t h[8];
    uint64_t len; /* bytes hashed so far */
    uint8_t buf[64];
    size_t n_buf;
} rlc_sha256;

void rlc_sha256_init(rlc_sha256 *s);
void rlc_sha256_update(rlc_sha256 *s, const void *data, size_t len);
/* The digest as 64 lowercase hex digits and a NUL; s is spent afterwards. */
void rlc_sha256_hex(rlc_sha256 *s, char hex[65]);

/* The hex SHA-256 of a whole file's bytes (RLC_ERR_NOT_FOUND naming it when absent). */
rlc_status rlc_sha256_file(const char *path, char hex[65]);

#endif
