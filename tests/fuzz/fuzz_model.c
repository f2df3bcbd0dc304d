/* Fuzz targets for model files: safetensors (single files and sharded
 * indexes) and config.json (alone and as loaded with weights). */
#include "fuzz.h"
#include "model/config.h"
#include "model/model.h"
#include "model/safetensors.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* First byte even: the input is a .safetensors file; odd: it is a
 * model.safetensors.index.json beside a small valid shard "a.safetensors". */
int rlc_fuzz_safetensors(const uint8_t *data, size_t size) {
    if (!size) return 0;
    rlc_st_file *f = NULL;
    if (!(data[0] & 1)) {
        const char *path = rlc_fuzz_path("fuzz.safetensors");
        rlc_fuzz_write(path, data + 1, size - 1);
        if (rlc_st_open(path, &f)) return 0;
    } else {
        const char *dir = rlc_fuzz_path("stdir");
        mkdir(dir, 0755);
        static int shard_written;
        if (!shard_written) {
            rlc_st_writer *w = rlc_st_writer_new();
            float v[6] = {1, 2, 3, 4, 5, 6};
            int64_t shape[2] = {2, 3};
            RLC_FUZZ_CHECK(w && !rlc_st_writer_add_f32(w, "x", RLC_DTYPE_F32, 2, shape, v) &&
                               !rlc_st_writer_add_f32(w, "y", RLC_DTYPE_BF16, 1, shape + 1, v) &&
                               !rlc_st_writer_write(w, rlc_fuzz_path("stdir/a.safetensors")),
                           "cannot write the shard");
            rlc_st_writer_free(w);
            shard_written = 1;
        }
        rlc_fuzz_write(rlc_fuzz_path("stdir/model.safetensors.index.json"), data + 1, size - 1);
        if (rlc_st_open_dir(dir, &f)) return 0;
    }
    /* Everything the reader accepted is readable as promised. */
    for (int i = 0; i < rlc_st_count(f); i++) {
        const rlc_st_tensor *t = rlc_st_at(f, i);
        RLC_FUZZ_CHECK(rlc_st_find(f, t->name) != NULL, "tensor %s listed but not found", t->name);
        if (t->numel > (1u << 16)) continue;
        float *dst = malloc((t->numel ? t->numel : 1) * sizeof(float));
        RLC_FUZZ_CHECK(dst != NULL, "out of memory");
        rlc_status st = rlc_st_read_f32(f, t->name, t->ndim, t->shape, dst);
        RLC_FUZZ_CHECK(st == RLC_OK || t->dtype != RLC_DTYPE_F32, "reading %s failed", t->name);
        free(dst);
    }
    rlc_st_metadata(f, "format");
    rlc_st_close(f);
    return 0;
}

/* The input is config.json; it is loaded alone, saved and loaded back, and
 * loaded as a model beside the weights of the default tiny model (most
 * configs then disagree with the weights: that must be an error, not a
 * crash or an allocation sized by the config). */
int rlc_fuzz_model_config(const uint8_t *data, size_t size) {
    const char *dir = rlc_fuzz_path("model");
    static int weights_written;
    if (!weights_written) {
        rlc_model_config c = rlc_config_default();
        rlc_model *m = NULL;
        RLC_FUZZ_CHECK(!rlc_model_create(&c, 1, &m) && !rlc_model_save(m, dir, RLC_DTYPE_F32),
                       "cannot write the tiny model");
        rlc_model_free(m);
        weights_written = 1;
    }
    const char *path = rlc_fuzz_path("model/config.json");
    rlc_fuzz_write(path, data, size);
    rlc_model_config cfg, back;
    if (rlc_config_load(path, &cfg)) return 0;
    if (rlc_config_validate(&cfg, "fuzz") == RLC_OK) {
        const char *p2 = rlc_fuzz_path("config2.json");
        RLC_FUZZ_CHECK(rlc_config_save(&cfg, p2) == RLC_OK, "save failed");
        RLC_FUZZ_CHECK(rlc_config_load(p2, &back) == RLC_OK, "saved config.json does not load");
        RLC_FUZZ_CHECK(back.vocab_size == cfg.vocab_size && back.num_layers == cfg.num_layers &&
                           back.hidden_size == cfg.hidden_size && back.head_dim == cfg.head_dim &&
                           back.num_kv_heads == cfg.num_kv_heads && back.arch == cfg.arch,
                       "config.json does not round-trip");
    }
    rlc_model *m = NULL;
    if (rlc_model_load(dir, &m) == RLC_OK) {
        RLC_FUZZ_CHECK(rlc_model_num_params(m) > 0, "a loaded model has no parameters");
        rlc_model_free(m);
    }
    return 0;
}
