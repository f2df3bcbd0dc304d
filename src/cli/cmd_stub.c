/* Commands whose implementation lands with the model core. */
#include "cli/cli.h"

int rlc_cmd_info(int argc, char **argv) {
    return rlc_cli_fail(rlc_errorf(RLC_ERR_UNSUPPORTED, "info: not yet available"));
}

int rlc_cmd_generate(int argc, char **argv) {
    return rlc_cli_fail(rlc_errorf(RLC_ERR_UNSUPPORTED, "generate: not yet available"));
}
