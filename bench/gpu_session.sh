#!/usr/bin/env bash
# Everything issue 10 leaves to a CUDA machine, in two runs of under 10 minutes each on one H100
# (``models`` then ``search``; ``all`` does both), every output written to $OUT (at most 8
# files per run, as the device tool brings back):
#
#   gpu_suite.txt      python -m pytest -m gpu tests/gpu (the CUDA suite; store tests skip
#                      unless lancedb and the ingest stack are installed)
#   clamr_gpu.txt      bench.clamr_gpu --random-full-size: bf16 and 4-bit, batch 8/16/32,
#                      preprocessing, model time, videos/s, tokens/s, peak memory, share of peak
#                      FLOP/s, and the stock path (per-window attention, inline) beside it
#   train_gpu.txt      bench.train_gpu --random-full-size: bf16 and 4-bit LoRA at the paper's
#                      settings, s/step, peak memory, trained-vs-reloaded difference and ranking
#   search_10k.txt, search_100k.txt, search_1m.txt
#                      backend.bench.gpu_search: resident exact search beside plain torch
#   session.txt        versions, GPU, and each step's exit status and seconds
#
# Run from the repository root:  OUT=/some/folder bash bench/gpu_session.sh all
# With the device tool (one command may run 10 minutes; the second call finds the machine warm
# if made within 30 s, else it starts a fresh one):
#   run(command="bash bench/gpu_session.sh models", carry=[".whl"], timeout_s=600)
#   run(command="bash bench/gpu_session.sh search", carry=[".whl"], timeout_s=400)
#
# The GPU image has torch 2.11 (CUDA 13), transformers 5.x and no lancedb; this code is written
# for transformers 4.57. Put these wheels in .whl/ (ignored by git; about 20 MB, under the 64 MiB
# a call may carry) and they are installed into /tmp/site, ahead of the image's packages:
#   transformers-4.57.6-py3-none-any.whl
#   tokenizers-0.22.2-cp39-abi3-manylinux_2_17_x86_64.manylinux2014_x86_64.whl  (4.57: <0.23)
#   huggingface_hub-0.36.2-py3-none-any.whl                                     (4.57: <1.0)
#   peft-0.21.2-py3-none-any.whl
#   bitsandbytes-0.50.2-py3-none-manylinux_2_24_x86_64.whl   (trimmed to CUDA 13.0 + CPU:
#                                                 python -m bench.trim_bnb_wheel --cuda 130)
# fetched with: python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#   --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
#   -d .whl transformers==4.57.6 tokenizers==0.22.2 huggingface_hub==0.36.2 peft==0.21.2
# (lancedb's wheel alone is 75 MB, so the store-backed gpu tests cannot travel with the rest;
#  they run on a GPU machine set up with ./run setup and the CUDA torch wheel.)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
PY=${PYTHON:-python3}
LOG="$OUT/session.txt"
: >"$LOG"

if ls .whl/*.whl >/dev/null 2>&1; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl >>"$LOG" 2>&1 || echo "wheel install failed" >>"$LOG"
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi

"$PY" - >>"$LOG" 2>&1 <<'EOF'
import importlib, torch
print("GPU:", torch.cuda.get_device_name() if torch.cuda.is_available() else None,
      "torch", torch.__version__, "cuda", torch.version.cuda)
for name in ("transformers", "tokenizers", "huggingface_hub", "peft", "accelerate",
             "bitsandbytes", "triton", "numpy", "lancedb", "av"):
    try:
        print(f"{name} {importlib.import_module(name).__version__}")
    except Exception as error:
        print(f"{name}: {type(error).__name__}: {error}")
EOF

step() {  # step NAME SECONDS OUTFILE COMMAND...: run with a time limit, log status and time
  local name=$1 limit=$2 file=$3
  shift 3
  local start=$SECONDS
  timeout "$limit" "$@" >"$OUT/$file" 2>&1
  echo "$name: exit $? in $((SECONDS - start)) s" >>"$LOG"
}

PART=${1:-all}  # models (suite and both benches, ~7 min) | search (~3 min) | all (both)
CKPT=/tmp/random-qwen2.5-vl-3b  # written once (7.5 GB), read by both benches
if [ "$PART" = models ] || [ "$PART" = all ]; then
  step "gpu suite" 150 gpu_suite.txt "$PY" -m pytest -m gpu tests/gpu -rs -s -p no:cacheprovider
  step "clamr_gpu" 200 clamr_gpu.txt "$PY" -m bench.clamr_gpu --random-full-size \
    --full-size-dir "$CKPT" --videos 64 --batch-size 8 --batch-size 16 --batch-size 32 \
    --compare-stock
  step "train_gpu" 170 train_gpu.txt "$PY" -m bench.train_gpu --random-full-size \
    --full-size-dir "$CKPT" --steps 4 --checkpointing
  rm -rf "$CKPT"
fi
if [ "$PART" = search ] || [ "$PART" = all ]; then
  step "search 10k" 60 search_10k.txt "$PY" -m backend.bench.gpu_search --videos 10000
  step "search 100k" 90 search_100k.txt "$PY" -m backend.bench.gpu_search --videos 100000 \
    --queries 30
  step "search 1M" 150 search_1m.txt "$PY" -m backend.bench.gpu_search --videos 1000000 \
    --precision int8 --queries 20 --repeat 3
fi
cat "$LOG"
