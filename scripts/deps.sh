#!/bin/sh
# Installs the Debian packages rlc needs when any is missing. Usage: deps.sh build|test|node|fuzz|bench
# (node: only what the tokenizer's npm references need, for make bench; fuzz:
# the build plus clang and its libFuzzer/sanitizer runtimes, for make fuzz). The
# build needs npm too: it fetches the dashboard's chart library (uPlot).
set -e
# node and npm count as present when on PATH (NodeSource's nodejs bundles npm
# and conflicts with Debian's npm package).
node=""
command -v node >/dev/null && command -v npm >/dev/null || node="nodejs npm"
need="gcc make pkg-config libopenblas-openmp-dev liblapacke-dev libjansson-dev libyaml-dev libpcre2-dev libutf8proc-dev libcairo2-dev libgomp1 libmicrohttpd-dev libsnappy-dev zlib1g-dev libzstd-dev $node"
# clang builds the fuzz targets: libclang-rt-14-dev holds libFuzzer and the
# sanitizer runtimes, libomp-dev the OpenMP runtime clang links.
fuzz="clang libclang-rt-14-dev libomp-dev"
if [ "${1:-build}" = node ]; then
  need="$node"
elif [ "${1:-build}" = bench ]; then
  # make bench-models / bench-peers: PyTorch writes the reference models, cmake
  # and g++ build the llama.cpp peer, git clones its bundle; libdnnl-dev: the
  # oneDNN comparison of make bench (bench/onednn.c).
  need="$need python3-torch python3-numpy cmake g++ git libdnnl-dev"
elif [ "${1:-build}" = fuzz ]; then
  need="$need $fuzz"
elif [ "${1:-build}" = test ]; then
  # chromium: the dashboard's browser test (driven by playwright-core from npm).
  # clang-format: make format-check. tmux: rlc top's full-screen test. jq: the shell
  # external verifier of examples/verifiers (tests/test_external.c runs it). Open MPI:
  # the data-parallel test (tests/test_mpi.c runs mpirun); the plain build works without it.
  need="$need libopenmpi-dev openmpi-bin libcriterion-dev protobuf-compiler python3-torch python3-numpy python3-jinja2 chromium clang-format tmux jq $fuzz"
fi
missing=""
for p in $need; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
$SUDO apt-get install -o DPkg::Lock::Timeout=600 -y -q --no-install-recommends $missing >/dev/null
