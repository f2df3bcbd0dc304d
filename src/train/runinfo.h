/* RUN_DIR/run_info.json: who the run is for a tool outside rlc (a later
 * `wandb sync --sync-tensorboard` of tb/): the logging.wandb_* keys, the run's
 * name and condition, when it first started and the rlc version. */
#ifndef RLC_TRAIN_RUNINFO_H
#define RLC_TRAIN_RUNINFO_H

#include "base/status.h"
#include "train/runconfig.h"

#define RLC_RUN_INFO "run_info.json"

/* Writes dir/run_info.json atomically from c (logging.wandb_*), the run's
 * name and condition. A resumed run (resumed != 0) keeps the start_time of
 * the run_info.json already there, if it holds one, and records this start as
 * last_start_time; the wandb fields always follow the current config (they
 * may change on rerun). */
rlc_status rlc_run_info_write(const rlc_run_config *c, const char *dir, const char *name,
                              const char *condition, int resumed);

#endif
