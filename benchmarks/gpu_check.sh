#!/usr/bin/env bash
# GPU check: DCGAN 64x64 training throughput on one GPU, gan-blocks GAN.fit on JAX
# against the same models in plain PyTorch (torch.compile), fp32 and bf16; then
# GAN.fit on the torch backend (eager and jit_compile=True) against plain eager
# torch loops, MNIST DCGAN at batch 64 (benchmarks/throughput.py).
#
# For a machine with JAX and PyTorch (CUDA) but no TensorFlow and no network; run
# from a copy of the repository:
#
#     bash benchmarks/gpu_check.sh               # the GPU check (< 9.5 minutes)
#     bash benchmarks/gpu_check.sh --cpu-smoke   # a tiny end-to-end run on the CPU
#
# keras (and optree) are installed from benchmarks/wheels/ when missing: fetch them
# beforehand with benchmarks/fetch_wheels.sh on a machine with network. gan-blocks
# is used from src/ (PYTHONPATH), not installed. Keras on JAX also needs optree or
# dm-tree: without either, gpu_throughput.py lets Keras use torch.utils._pytree. Environment: PYTHON (default python3),
# GPU_CHECK_OUT (results file), GPU_CHECK_ARGS (extra arguments for
# benchmarks/gpu_throughput.py, e.g. "--batch-sizes 128 512").
set -uo pipefail

cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${GPU_CHECK_OUT:-${OUT:-/tmp}/gpu_check_results.jsonl}
SMOKE=()
BUDGET=540 # seconds for everything after start-up; the check must end within 9.5 minutes
STAGE=180  # seconds for each framework's process (JAX, plain torch.compile)
TORCH_STAGE=180 # seconds for the torch-backend comparison
for arg in "$@"; do
    case "$arg" in
        --cpu-smoke) SMOKE=(--cpu-smoke); BUDGET=1500; STAGE=600; TORCH_STAGE=300 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
started=$(date +%s)
elapsed() { echo "$(( $(date +%s) - started ))s"; }

echo "## gan-blocks GPU check, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "### machine"
if command -v nvidia-smi > /dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
else
    echo "nvidia-smi: not found"
fi
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /cpu: /'
echo "cores: $(nproc)"
$PYTHON --version

echo
echo "### packages ($(elapsed))"
# Only the Python that has the frameworks gets anything installed.
for framework in jax torch; do
    if ! $PYTHON -c "import $framework" 2> /dev/null; then
        echo "$PYTHON cannot import $framework: set PYTHON to the interpreter that has JAX and PyTorch."
        exit 1
    fi
done
# keras (pure Python) and its pure-Python import-time dependencies, from
# benchmarks/wheels/, only where missing.
declare -A WHEEL=(
    [keras]=keras [absl]=absl_py [rich]=rich [markdown_it]=markdown_it_py
    [mdurl]=mdurl [pygments]=pygments [namex]=namex [optree]=optree
)
for module in absl markdown_it mdurl pygments rich namex optree keras; do
    if ! $PYTHON -c "import $module" 2> /dev/null; then
        wheel=$(ls benchmarks/wheels/${WHEEL[$module]}-*.whl 2> /dev/null | head -1)
        if [ -n "$wheel" ]; then
            echo "installing $wheel"
            $PYTHON -m pip install --quiet --no-index --no-deps "$wheel" \
                || $PYTHON -m pip install --quiet --user --no-index --no-deps "$wheel" \
                || echo "could not install $wheel"
        else
            echo "missing module $module and no wheel for it in benchmarks/wheels/"
        fi
    fi
done
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
$PYTHON - << 'PY'
import importlib.metadata as metadata
for name in ("jax", "jaxlib", "torch", "keras", "optree", "numpy", "tensorflow"):
    try:
        print(f"{name} {metadata.version(name)}")
    except metadata.PackageNotFoundError:
        print(f"{name}: not installed")
PY
rm -f "$OUT"
run() {
    # run LIMIT ARGS...: at most LIMIT seconds, and never past the budget.
    local limit=$1 left
    shift
    left=$(( started + BUDGET - $(date +%s) ))
    (( left < limit )) && limit=$left
    echo
    echo "### $* ($(elapsed), limit ${limit}s)"
    if (( limit < 20 )); then
        echo "skipped: out of time"
        return
    fi
    timeout "$limit" "$PYTHON" benchmarks/gpu_throughput.py "$@" "${SMOKE[@]}" \
        --out "$OUT" ${GPU_CHECK_ARGS:-} 2>&1 | grep -v -E "^(WARNING|I0000|E0000|W0000)" | tail -25
    echo "exit status: ${PIPESTATUS[0]}"
}
# JAX: gan-blocks GAN.fit with the defaults in fp32 and bf16 (mixed_bfloat16), and
# bf16 with steps_per_execution=8 (the NaN guard then reads the logs once per 8
# steps instead of after every step).
XLA_PYTHON_CLIENT_PREALLOCATE=false run "$STAGE" --framework jax
run "$STAGE" --framework torch

# The torch backend (issue #17): gan-blocks GAN.fit, eager (the default) and with
# jit_compile=True, against plain eager loops of examples/dcgan.py's MNIST model
# (latent 64, filters 32) at batch 64: one over the same Keras layers, one in
# torch.nn with torch.optim.Adam.
left=$(( started + BUDGET - $(date +%s) ))
(( left > TORCH_STAGE )) && left=$TORCH_STAGE
echo
echo "### torch backend: GAN.fit against plain torch loops ($(elapsed), limit ${left}s)"
if (( left < 30 )); then
    echo "skipped: out of time"
else
    if [ ${#SMOKE[@]} -gt 0 ]; then
        TORCH_ARGS=(--batch-sizes 4 --steps 3 --repeats 1 --warmup-steps 1)
    else
        TORCH_ARGS=(--batch-sizes 64 --steps 200 --repeats 3)
    fi
    KERAS_BACKEND=torch timeout "$left" "$PYTHON" benchmarks/throughput.py --backend torch \
        --small-batch "${TORCH_ARGS[@]}" 2>&1 | grep -v -E "^(WARNING|I0000|E0000|W0000|W1|V1)"
    echo "exit status: ${PIPESTATUS[0]}"
fi

echo
echo "### results ($(elapsed))"
if [ -s "$OUT" ]; then
    $PYTHON benchmarks/gpu_throughput.py --report "$OUT"
else
    echo "no results in $OUT"
fi
echo
echo "total: $(elapsed)"
