/* Test-only hooks (fault injection for crash tests, a thread-count switch),
 * base/killpoint.c is built with -DRLC_TEST_HOOKS: the test binary
 * build/rlc-test (`make unit`, `make asan` run the CLI tests against it).
 * In the release build/rlc a kill point is an empty call and the binary
 * never reads RLC_TEST_KILL_AT.
 *
 * In the test build, with RLC_TEST_KILL_AT=SITE:LABEL in the environment, the
 * process kills itself with SIGKILL (no cleanup, no buffers flushed, no atexit:
 * for the files on disk, the same as kill -9 at that instant) when it passes
 * kill point SITE with a label that is LABEL or ends in "/LABEL". Without the
 * variable a kill point costs one getenv.
 *
 * Sites (only appended to; tests/test_resume.c and tests/test_final.c use them):
 *   write           base/fs.c: each chunk written to PATH.tmp by rlc_atomic_write,
 *                   so the first kill leaves a partly written file; label PATH
 *   ckpt-published  train/checkpoint.c: a checkpoint renamed into place, before
 *                   leftovers are removed and older ones pruned; label its folder
 *   ckpt-pruning    train/checkpoint.c: a pruned checkpoint renamed to
 *                   .checkpoint-<step>.old, before it is removed; label that folder
 *   final-filled    train/final.c: every file of the next final/ written and fsynced
 *                   in RUN_DIR/.final.tmp/final, before the rename; label that folder
 *   final-aside     train/final.c: (only where the file system has no rename
 *                   exchange) the old final/ renamed to .final.tmp/old, the new one
 *                   not yet in place; label .final.tmp/old
 *   final-published train/final.c: the new final/ in place, before the staging
 *                   folder (with a replaced final/) is removed; label RUN_DIR/final */
#ifndef RLC_BASE_KILLPOINT_H
#define RLC_BASE_KILLPOINT_H

#define RLC_KILL_ENV "RLC_TEST_KILL_AT"

void rlc_kill_point(const char *site, const char *label);

/* Test build only: 1 when RLC_TEST_THREADS_FLIP=1 is in the environment, and
 * then rlc_cores_adapt (base/cores.c) switches between one thread and all of
 * them at every call, so a test can check that no result depends on the
 * thread count; 0 in the release build. */
#define RLC_THREADS_FLIP_ENV "RLC_TEST_THREADS_FLIP"
int rlc_test_threads_flip(void);

/* Test build only: with RLC_TEST_BP_USL="a,b,c" in the environment, back
 * pressure (train/backpressure.h) takes a step of `tokens` tokens at
 * concurrency p to have lasted tokens (a + b p + c p^2) / p seconds instead of
 * the measured *seconds, so its throughput is exactly the USL curve
 * p / (a + b p + c p^2) and two runs decide alike; returns 1 then, else 0
 * (*seconds unchanged; always in the release build). */
#define RLC_BP_USL_ENV "RLC_TEST_BP_USL"
int rlc_test_bp_seconds(double p, double tokens, double *seconds);

#endif
