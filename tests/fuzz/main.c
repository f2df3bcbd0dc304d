/* libFuzzer entry point: built once per target with -DRLC_FUZZ_FN=rlc_fuzz_<name>. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return RLC_FUZZ_FN(data, size);
}
