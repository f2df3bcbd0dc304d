/* CRC-32C (Castagnoli), the checksum that checkpoint manifests record: the
 * SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both give
 * the same value (iSCSI / RFC 3720 convention, "123456789" -> 0xE3069283). */
#ifndef RLC_BASE_CRC32C_H
#define RLC_BASE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over data[len]; chain calls to checksum a stream. */
uint32_t rlc_crc32c(uint32_t crc, const void *data, size_t len);
/* The table form alone, for testing the fast path against it. */
uint32_t rlc_crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
