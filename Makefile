# make install   create .venv/ and install the pinned stack (MMCV built once, then cached)
# make demo      install, train FCN on the generated tiny ADE subset, print its mIoU and checkpoint
# make test      install, run all tests
# Variables: see tools/install.sh (SYSTEM_TORCH=1 keeps an installed torch, MMCV_CACHE, FORCE_CUDA ...)
PY := .venv/bin/python
INSTALLED := .venv/.installed
DEMO_DIR := work_dirs/fcn_ade20k_demo

.PHONY: install demo test data clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt tests/requirements.txt tools/install.sh
	EXTRA_REQUIREMENTS=tests/requirements.txt bash tools/install.sh
	touch $@

demo: install
	rm -rf $(DEMO_DIR)
	$(PY) train_fcn.py --smoke --iters 60 --work-dir $(DEMO_DIR)

test: install
	$(PY) -m pytest tests --durations=40

data: install
	$(PY) tools/make_tiny_ade.py

clean:
	rm -rf .venv work_dirs/*_smoke work_dirs/*_demo data/ade_tiny
