/* CRC-32C: reflected polynomial 0x82F63B78, initial and final inversion. */
#include "base/crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
}

uint32_t rlc_crc32c_portable(uint32_t crc, const void *data, size_t len) {
    pthread_once(&table_once, table_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (len--)
        c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
/* The crc32 instruction computes exactly the reflected update above, 8 bytes
 * per instruction; multi-GB full-model checkpoints are checksummed on every
 * resume, so the table's ~1 byte per cycle would show. */
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p,
                                                            size_t len) {
    uint32_t c = ~crc;
    for (; len && ((uintptr_t)p & 7); len--)
        c = __builtin_ia32_crc32qi(c, *p++);
    uint64_t c64 = c;
    for (; len >= 8; len -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    for (; len; len--)
        c = __builtin_ia32_crc32qi(c, *p++);
    return ~c;
}
#endif

uint32_t rlc_crc32c(uint32_t crc, const void *data, size_t len) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return crc_sse42(crc, data, len);
#endif
    return rlc_crc32c_portable(crc, data, len);
}
