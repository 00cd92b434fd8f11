# Two entry points: `make demo` (train + evaluate LRNNet on the embedded synthetic data)
# and `make test` (the whole suite). Both create .venv/ first; a second run skips set-up.
PY := .venv/bin/python
DEMO_CONFIG := configs/lrnnet/lrnnet_1xb8-600i_synthetic-128x256.py
# Overridable, e.g. `make demo DEMO_ITERS=4 DEMO_DIR=/tmp/demo DEMO_DATA=/tmp/data
# SYNTHETIC_ARGS='--num-train 8 --num-val 4'`: the suite's smoke run of this target.
DEMO_ITERS := 600
DEMO_DIR := work_dirs/demo
DEMO_DATA := data/synthetic_cityscapes
SYNTHETIC_ARGS :=
DEMO_OPTIONS = $(foreach loader,train val test,$(loader)_dataloader.dataset.data_root=$(DEMO_DATA)) \
	train_cfg.max_iters=$(DEMO_ITERS) train_cfg.val_interval=$(DEMO_ITERS) \
	param_scheduler.0.end=$(DEMO_ITERS)

.PHONY: setup demo test clean

setup:
	./tools/setup_env.sh

demo: setup
	$(PY) tools/make_synthetic_data.py $(DEMO_DATA) $(SYNTHETIC_ARGS)
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR) --cfg-options $(DEMO_OPTIONS)
	$(PY) tools/test.py $(DEMO_CONFIG) $(DEMO_DIR)/iter_$(DEMO_ITERS).pth --work-dir $(DEMO_DIR) \
		--show-dir $(DEMO_DIR)/pictures --cfg-options $(DEMO_OPTIONS)
	@echo "overlay pictures: $(DEMO_DIR)/pictures/vis_data/vis_image/"

test: setup
	$(PY) -m pytest tests -q

clean:
	rm -rf work_dirs data/synthetic_cityscapes
