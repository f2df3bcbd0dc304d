/* Model folders of a run (checkpoints and final/) and final/'s atomic publish.
 * Names under RUN_DIR:
 *   final/                 complete, or absent
 *   .final.tmp/final/      the next final/ being written
 *   .final.tmp/old/        a replaced final/ being removed (no-exchange file systems)
 * Only final/ is ever read; .final.tmp is removed before and after each save. */
#include "train/final.h"

#include "base/fs.h"
#include "base/killpoint.h"
#include "observe/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_CAP 4096
#define STAGE ".final.tmp"

static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The Hugging Face tokenizer files beside the policy's tokenizer.json. */
static rlc_status copy_hf_tokenizer(const rlc_run_config *c, const char *out) {
    char dir[PATH_CAP];
    const char *tp = c->tokenizer.path && c->tokenizer.path[0] ? c->tokenizer.path : NULL;
    if (tp && !is_dir(tp)) {
        /* a tokenizer.json by any name: it becomes tokenizer.json, the rest comes from beside it */
        char dst[PATH_CAP];
        RLC_TRY(rlc_path_join(dst, sizeof dst, out, "tokenizer.json"));
        RLC_TRY(rlc_copy_file(tp, dst));
        const char *slash = strrchr(tp, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - tp) : 1, slash ? tp : ".");
    } else {
        snprintf(dir, sizeof dir, "%s", tp ? tp : c->model.path);
    }
    for (int i = 0; rlc_tokenizer_hf_files[i]; i++) {
        if (tp && !is_dir(tp) && !strcmp(rlc_tokenizer_hf_files[i], "tokenizer.json")) continue;
        RLC_TRY(rlc_copy_if_present(dir, out, rlc_tokenizer_hf_files[i]));
    }
    return RLC_OK;
}

rlc_dtype rlc_final_dtype(const rlc_policy *pol) {
    return rlc_model_file_dtype(pol->m) == RLC_DTYPE_BF16 ? RLC_DTYPE_BF16 : RLC_DTYPE_F32;
}

rlc_status rlc_model_dir_save(const rlc_run_config *c, const rlc_policy *pol, const char *dir,
                              rlc_dtype weights) {
    if (rlc_model_has_lora(pol->m)) {
        RLC_TRY(rlc_model_save_adapter(pol->m, dir));
    } else {
        RLC_TRY(rlc_model_save(pol->m, dir, weights));
        if (!c->model.from_scratch)
            RLC_TRY(rlc_copy_if_present(c->model.path, dir, "generation_config.json"));
    }
    if (rlc_tokenizer_is_byte(pol->tok)) return rlc_tokenizer_save_byte(pol->tok, dir);
    return copy_hf_tokenizer(c, dir);
}

/* fsyncs every file in dir, then dir itself. */
static rlc_status fsync_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return rlc_errorf(RLC_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    rlc_status st = RLC_OK;
    struct dirent *e;
    char path[PATH_CAP];
    while (st == RLC_OK && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        st = rlc_path_join(path, sizeof path, dir, e->d_name);
        if (st) break;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            st = rlc_errorf(RLC_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
    }
    closedir(d);
    return st ? st : rlc_fsync_dir(dir);
}

rlc_status rlc_model_dir_load_init_adapter(const rlc_run_config *c, rlc_policy *pol) {
    const char *dir = c->lora.init_adapter;
    const rlc_lora_config *run = rlc_model_lora_config(pol->m);
    char path[PATH_CAP], note[640] = "", why[1024] = "", ta[160], tr[160];
    if (!run) return rlc_errorf(RLC_ERR_INTERNAL, "lora.init_adapter: the policy has no adapter");
    RLC_TRY(rlc_path_join(path, sizeof path, dir, "adapter_config.json"));
    if (!rlc_file_exists(path))
        return rlc_errorf(RLC_ERR_NOT_FOUND,
                          "lora.init_adapter '%s': no adapter_config.json there (expected a PEFT "
                          "adapter folder, such as a LoRA run's final/)",
                          dir);
    rlc_lora_config have;
    RLC_TRY(rlc_adapter_config_read(dir, &have));
    size_t len = 0;
    if (have.rank != run->rank)
        len += (size_t)snprintf(why + len, sizeof why - len, "; r=%d there, lora.rank=%d here",
                                have.rank, run->rank);
    if (have.alpha != run->alpha && len < sizeof why)
        len +=
            (size_t)snprintf(why + len, sizeof why - len,
                             "; lora_alpha=%g there, lora.alpha=%g here", have.alpha, run->alpha);
    if (have.use_rslora != run->use_rslora && len < sizeof why)
        len += (size_t)snprintf(
            why + len, sizeof why - len, "; use_rslora=%s there, lora.rslora=%s here",
            have.use_rslora ? "true" : "false", run->use_rslora ? "true" : "false");
    if (have.targets != run->targets && len < sizeof why)
        snprintf(why + len, sizeof why - len, "; target_modules [%s] there, lora.targets [%s] here",
                 rlc_lora_targets_str(have.targets, ta, sizeof ta),
                 rlc_lora_targets_str(run->targets, tr, sizeof tr));
    if (why[0])
        return rlc_errorf(RLC_ERR_INVALID,
                          "lora.init_adapter '%s' is not the adapter this run trains%s: set lora.* "
                          "to the adapter's values",
                          dir, why);
    RLC_TRY(rlc_adapter_check_base(dir, c->model.path, note, sizeof note));
    if (note[0]) rlc_logf(RLC_LOG_INFO, "note: %s", note);
    RLC_TRY(rlc_model_reload_trainable(pol->m, dir));
    rlc_logf(RLC_LOG_INFO, "lora.init_adapter: the adapter starts from %s (r=%d, alpha %g, %s)",
             dir, have.rank, have.alpha, rlc_lora_targets_str(have.targets, ta, sizeof ta));
    return RLC_OK;
}

rlc_status rlc_final_remove_leftovers(const char *run_dir) {
    char stage[PATH_CAP];
    RLC_TRY(rlc_path_join(stage, sizeof stage, run_dir, STAGE));
    return rlc_rm_rf(stage);
}

/* Moves the complete folder `fresh` to `dst`, which may hold an older one. */
static rlc_status publish(const char *fresh, const char *dst, const char *stage) {
    char aside[PATH_CAP];
    if (rename(fresh, dst) == 0) return RLC_OK;
    if (errno != EEXIST && errno != ENOTEMPTY && errno != EISDIR)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot rename to %s: %s", fresh, dst, strerror(errno));
    if (renameat2(AT_FDCWD, fresh, AT_FDCWD, dst, RENAME_EXCHANGE) == 0) return RLC_OK;
    RLC_TRY(rlc_path_join(aside, sizeof aside, stage, "old"));
    if (rename(dst, aside) != 0)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot rename to %s: %s", dst, aside, strerror(errno));
    rlc_kill_point("final-aside", aside);
    if (rename(fresh, dst) != 0)
        return rlc_errorf(RLC_ERR_IO, "%s: cannot rename to %s: %s", fresh, dst, strerror(errno));
    return RLC_OK;
}

rlc_status rlc_save_final(const rlc_run_config *c, const rlc_policy *pol, const char *run_dir,
                          const char *trainer_state, char *path, size_t cap) {
    char stage[PATH_CAP], fresh[PATH_CAP], dst[PATH_CAP];
    RLC_TRY(rlc_path_join(stage, sizeof stage, run_dir, STAGE));
    RLC_TRY(rlc_path_join(fresh, sizeof fresh, stage, "final"));
    RLC_TRY(rlc_path_join(dst, sizeof dst, run_dir, "final"));
    RLC_TRY(rlc_rm_rf(stage));
    RLC_TRY(rlc_mkdir_p(fresh));
    rlc_status st = rlc_model_dir_save(c, pol, fresh, rlc_final_dtype(pol));
    if (st == RLC_OK && trainer_state) {
        char sp[PATH_CAP];
        st = rlc_path_join(sp, sizeof sp, fresh, "trainer_state.json");
        if (st == RLC_OK) st = rlc_write_file_atomic(sp, trainer_state, strlen(trainer_state));
    }
    if (st == RLC_OK) st = fsync_tree(fresh);
    if (st == RLC_OK) st = rlc_fsync_dir(stage);
    if (st == RLC_OK) rlc_kill_point("final-filled", fresh);
    if (st == RLC_OK) st = publish(fresh, dst, stage);
    if (st == RLC_OK) st = rlc_fsync_dir(run_dir);
    if (st == RLC_OK) rlc_kill_point("final-published", dst);
    /* after a swap, the stage holds the replaced final/ */
    rlc_status rst = rlc_rm_rf(stage);
    if (st == RLC_OK) st = rst;
    if (st == RLC_OK && path && snprintf(path, cap, "%s", dst) >= (int)cap)
        st = rlc_errorf(RLC_ERR_INVALID, "%s: path too long", dst);
    return st;
}
