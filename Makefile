# Two entry points: `make demo` (train + evaluate LRNNet on the embedded synthetic data)
# and `make test` (the whole suite). Both create .venv/ first; a second run skips set-up.
PY := .venv/bin/python
DEMO_CONFIG := configs/lrnnet/lrnnet_1xb8-600i_synthetic-128x256.py
DEMO_DIR := work_dirs/demo

.PHONY: setup demo test clean

setup:
	./tools/setup_env.sh

demo: setup
	$(PY) tools/make_synthetic_data.py data/synthetic_cityscapes
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $(DEMO_DIR)/iter_600.pth --work-dir $(DEMO_DIR) \
		--show-dir $(DEMO_DIR)/pictures
	@echo "overlay pictures: $(DEMO_DIR)/pictures/vis_data/vis_image/"

test: setup
	$(PY) -m pytest tests -q

clean:
	rm -rf work_dirs data/synthetic_cityscapes
