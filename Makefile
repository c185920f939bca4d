# make install     create .venv/ and install the pinned stack (MMCV with pure-PyTorch ops: no compiler)
# make demo        install, train FCN on the generated tiny ADE subset, print its mIoU and checkpoint
# make test        install (with the trackers), the Debian packages the tests need (tools/test_services.sh), run
#                  all tests
# make trackers    install, then the optional trackers of --log-to (requirements-trackers.txt: W&B, MLflow)
# make gpu-check   install, check the GPU paths on this machine's NVIDIA GPU (says so and exits without one)
# make data        install, download ADE20K to data/ade/ADEChallengeData2016 (resumable, checked; DATA_ARGS for
#                  tools/download_ade.py, e.g. DATA_ARGS=--keep-archive)
# Variables: see tools/install.sh (MMCV_OPS=compiled: MMCV's own ops, built once here, then cached; SYSTEM_TORCH=1
# keeps an installed torch; MMCV_CACHE, FORCE_CUDA ...);
# GPU_CHECK_ARGS for tools/gpu_check.py (e.g. GPU_CHECK_ARGS="--no-ops --shard 1/4");
# TEST_WORKERS: test processes for make test (default 2; each gets one torch thread)
PY := .venv/bin/python
# one stamp per MMCV_OPS mode: switching modes reinstalls MMCV
INSTALLED := .venv/.installed-$(or $(MMCV_OPS),pytorch)
DEMO_DIR := work_dirs/fcn_ade20k_demo
TEST_WORKERS ?= 2

.PHONY: install trackers demo test gpu-check data clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt tests/requirements.txt tools/install.sh training/install/plan.py \
		training/install/check.py training/paths.py training/cuda_env.py training/mmcv_ops.py training/mmcv_ext_pytorch.py
	rm -f .venv/.installed*
	EXTRA_REQUIREMENTS=tests/requirements.txt bash tools/install.sh
	touch $@

trackers: .venv/.installed-trackers

.venv/.installed-trackers: $(INSTALLED) requirements-trackers.txt
	$(PY) -m pip install -q -r requirements-trackers.txt
	touch $@

demo: install
	rm -rf $(DEMO_DIR)
	$(PY) train_fcn.py --smoke --iters 60 --work-dir $(DEMO_DIR)

test: install trackers
	bash tools/test_services.sh
	$(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadgroup --durations=15

gpu-check: install
	$(PY) tools/gpu_check.py $(GPU_CHECK_ARGS)

data: install
	$(PY) tools/download_ade.py $(DATA_ARGS)

clean:
	rm -rf .venv work_dirs/*_smoke work_dirs/*_demo data/ade_tiny
