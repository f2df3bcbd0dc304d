/* Fuzz target for Parquet data files (data.path: *.parquet): the footer's
 * Thrift, the schema tree, pages, codecs, encodings and level assembly. */
#include "data/jsonl.h"
#include "data/parquet.h"
#include "fuzz.h"

#include <jansson.h>
#include <string.h>

static rlc_status count_row(const json_t *obj, const char *path, size_t line, void *ctx) {
    size_t *seen = ctx;
    RLC_FUZZ_CHECK(json_is_object(obj), "%s:%zu: callback got a non-object", path, line);
    RLC_FUZZ_CHECK(line == *seen + 1, "%s: row %zu after %zu rows", path, line, *seen);
    ++*seen;
    return RLC_OK;
}

/* The input is a .parquet file: read from memory, then as a data set in the
 * record forms the trainer loads (verl's keys and the defaults). */
int rlc_fuzz_parquet(const uint8_t *data, size_t size) {
    size_t seen = 0, count = 0;
    rlc_status st = rlc_parquet_foreach_mem("fuzz.parquet", data, size, count_row, &seen, &count);
    RLC_FUZZ_CHECK(seen == count, "foreach counted %zu, called %zu", count, seen);
    if (st == RLC_OK)
        RLC_FUZZ_CHECK(count > 0, "a file without rows loaded");
    else
        RLC_FUZZ_CHECK(!strncmp(rlc_last_error(), "fuzz.parquet: ", 14),
                       "the error does not name the file: %s", rlc_last_error());
    if (st != RLC_OK) return 0; /* the loaders below fail the same way */
    const char *path = rlc_fuzz_path("data.parquet");
    rlc_fuzz_write(path, data, size);
    static const char *const keys[][2] = {{"prompt", "reward_model.ground_truth"},
                                          {"question", "answer"}};
    for (int k = 0; k < 2; k++) {
        rlc_record_set rs = {0};
        if (rlc_records_load(path, keys[k][0], keys[k][1], &rs) == RLC_OK) {
            RLC_FUZZ_CHECK(rs.n == count, "%zu records from %zu rows", rs.n, count);
            for (size_t i = 0; i < rs.n; i++) {
                const rlc_record *r = &rs.items[i];
                RLC_FUZZ_CHECK(r->completion && r->reference && r->solution && r->n_msgs > 0,
                               "record %zu has a NULL field or no prompt turn", i);
            }
        } else {
            RLC_FUZZ_CHECK(rs.n == 0 && rs.items == NULL, "failed record load left items");
        }
        rlc_records_free(&rs);
    }
    return 0;
}
