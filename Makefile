# make install     create .venv/ and install the pinned stack (MMCV built once, then cached)
# make demo        install, train FCN on the generated tiny ADE subset, print its mIoU and checkpoint
# make test        install, run all tests
# make gpu-check   install, check the GPU paths on this machine's NVIDIA GPU (says so and exits without one)
# Variables: see tools/install.sh (SYSTEM_TORCH=1 keeps an installed torch, MMCV_CACHE, FORCE_CUDA ...);
# GPU_CHECK_ARGS for tools/gpu_check.py (e.g. GPU_CHECK_ARGS="--no-ops --shard 1/4")
PY := .venv/bin/python
INSTALLED := .venv/.installed
DEMO_DIR := work_dirs/fcn_ade20k_demo

.PHONY: install demo test gpu-check data clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt tests/requirements.txt tools/install.sh training/install_plan.py training/cuda_env.py
	EXTRA_REQUIREMENTS=tests/requirements.txt bash tools/install.sh
	touch $@

demo: install
	rm -rf $(DEMO_DIR)
	$(PY) train_fcn.py --smoke --iters 60 --work-dir $(DEMO_DIR)

test: install
	$(PY) -m pytest tests --durations=40

gpu-check: install
	$(PY) tools/gpu_check.py $(GPU_CHECK_ARGS)

data: install
	$(PY) tools/make_tiny_ade.py

clean:
	rm -rf .venv work_dirs/*_smoke work_dirs/*_demo data/ade_tiny
