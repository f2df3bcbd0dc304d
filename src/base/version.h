/* The rlc version: printed by `rlc --version` and recorded in a run's
 * run_info.json. */
#ifndef RLC_BASE_VERSION_H
#define RLC_BASE_VERSION_H

#define RLC_VERSION "0.1.0"

#endif
