/* The tensors of a PEFT adapter file grouped into (lora_A, lora_B) pairs, one
 * per adapted weight: what rlc merge and rlc squeeze read. */
#include "model/model_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PEFT_PREFIX "base_model.model."

/* "base_model.model.X.lora_A.weight" -> base "X.weight", which 'A' (or 'B').
 * Returns 0 for any other name. */
static int parse_peft_name(const char *name, char *base, size_t cap, char *which) {
    static const char *const sfx[2] = {".lora_A.weight", ".lora_B.weight"};
    size_t np = strlen(PEFT_PREFIX), n = strlen(name);
    if (strncmp(name, PEFT_PREFIX, np)) return 0;
    for (int k = 0; k < 2; k++) {
        size_t ns = strlen(sfx[k]);
        if (n <= np + ns || strcmp(name + n - ns, sfx[k])) continue;
        int len = (int)(n - np - ns);
        if (snprintf(base, cap, "%.*s.weight", len, name + np) >= (int)cap) return 0;
        *which = k ? 'B' : 'A';
        return 1;
    }
    return 0;
}

const model_lora_pair *model_lora_pair_find(const model_lora_pair *p, int n, const char *base) {
    for (int i = 0; i < n; i++)
        if (!strcmp(p[i].base, base)) return &p[i];
    return NULL;
}

/* A [rank, in] and B [out, rank], both 2-D. */
static rlc_status check_shapes(const model_lora_pair *q, const char *ad_path, int rank) {
    if (q->a->ndim == 2 && q->b->ndim == 2 && q->a->shape[0] == rank && q->b->shape[1] == rank &&
        q->a->shape[1] > 0 && q->b->shape[0] > 0)
        return RLC_OK;
    return rlc_errorf(RLC_ERR_INVALID,
                      "%s: '%s' is [%lld, %lld] and lora_B [%lld, %lld] with r = %d (expected A "
                      "[r, in], B [out, r])",
                      ad_path, q->a->name, (long long)q->a->shape[0],
                      (long long)(q->a->ndim > 1 ? q->a->shape[1] : 0), (long long)q->b->shape[0],
                      (long long)(q->b->ndim > 1 ? q->b->shape[1] : 0), rank);
}

rlc_status model_lora_pairs(const rlc_st_file *ad, const char *ad_path, int rank,
                            model_lora_pair **out, int *n_out) {
    int n = rlc_st_count(ad), np = 0;
    model_lora_pair *p = rlc_calloc(n ? (size_t)n : 1, sizeof *p);
    if (!p) return RLC_ERR_NOMEM;
    rlc_status st = RLC_OK;
    for (int i = 0; st == RLC_OK && i < n; i++) {
        const rlc_st_tensor *t = rlc_st_at(ad, i);
        char bname[512], which;
        if (!parse_peft_name(t->name, bname, sizeof bname, &which)) {
            st = rlc_errorf(RLC_ERR_UNSUPPORTED,
                            "%s: tensor '%s' is not a LoRA weight (expected " PEFT_PREFIX
                            "<module>.lora_A.weight or .lora_B.weight)",
                            ad_path, t->name);
            break;
        }
        model_lora_pair *q = (model_lora_pair *)model_lora_pair_find(p, np, bname);
        if (!q) {
            q = &p[np++];
            snprintf(q->base, sizeof q->base, "%s", bname);
        }
        *(which == 'A' ? &q->a : &q->b) = t;
    }
    for (int i = 0; st == RLC_OK && i < np; i++) {
        const model_lora_pair *q = &p[i];
        if (!q->a || !q->b) {
            const rlc_st_tensor *one = q->a ? q->a : q->b;
            st = rlc_errorf(RLC_ERR_FORMAT, "%s: '%s' has no lora_%c partner", ad_path, one->name,
                            q->a ? 'B' : 'A');
        } else {
            st = check_shapes(q, ad_path, rank);
        }
    }
    if (st == RLC_OK && np == 0) st = rlc_errorf(RLC_ERR_FORMAT, "%s: no LoRA tensors", ad_path);
    if (st) {
        free(p);
        return st;
    }
    *out = p;
    *n_out = np;
    return RLC_OK;
}
