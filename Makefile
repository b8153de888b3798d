# rklab: two commands for a newcomer, `make demo` and `make test`. Both run `make setup` first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
RKLAB := $(VENV)/bin/rklab
STAMP := $(VENV)/.rklab-setup
PYTEST_ARGS ?=

.PHONY: setup demo fleet-demo test browser sshd opencv-dev clean-venv

setup: $(STAMP)

# Re-runs only when the dependency list changes; `pip install -e` keeps the code live.
$(STAMP): pyproject.toml scripts/install-llama-cpp.sh
	@bash scripts/check-python.sh $(PYTHON)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	bash scripts/install-llama-cpp.sh $(VENV)
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: setup
	$(RKLAB) models fetch-demo
	$(RKLAB) sweep data/plans/demo.yaml

# Two throwaway local "boards" (sshd on 127.0.0.1), the demo plan on both through Ansible, one merged report.
fleet-demo: setup sshd
	$(RKLAB) models fetch-demo
	$(RKLAB) fleet demo

# openssh-server for the local fleet boards (Debian packages; skipped when present).
sshd:
	@bash scripts/ensure-sshd.sh

# Headless Chromium and a CJK font (fonts-noto-cjk) for the browser tests (Debian packages; skipped when present).
browser:
	@bash scripts/ensure-chromium.sh

# g++ and Debian's OpenCV headers for the preprocessing ground truth (skipped when present).
opencv-dev:
	@bash scripts/ensure-opencv-dev.sh

test: setup browser sshd opencv-dev
	$(RKLAB) models fetch-demo
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean-venv:
	rm -rf $(VENV)
