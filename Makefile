# Two commands set everything up: `make run` starts the app, `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
# A pinned torch and torchvision first, so pip does not pull a different (multi-GB) build as a
# dependency. torchvision comes with spandrel (photo models) and must match torch exactly.
# For an NVIDIA GPU see README ("GPU builds of torch").
TORCH ?= torch==2.14.1 torchvision==0.29.1
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: run test install install-test lint clean package

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install $(TORCH)
	# with ONNX Runtime, the faster CPU engine for restoring (core/runtimes.py)
	$(PIP) install -e ".[onnx]"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed Makefile
	$(PIP) install -e ".[test]"
	# OpenAI's guided-diffusion UNet, the reference the ADM converter is proved against
	# (tests/core/test_adm.py); its other dependencies are for training, not this forward pass
	$(PIP) install --no-deps guided-diffusion-sdk==1.0.0
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(VENV)/bin/gen2res-desktop

test: install-test
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: install-test
	$(VENV)/bin/ruff check gen2res_desktop tests benchmarks packaging
	$(VENV)/bin/ruff format --check gen2res_desktop tests benchmarks packaging

# A self-contained app folder in dist/Gen2Res (PyInstaller; see packaging/README.md).
package: install
	packaging/build.sh --python $(PY)

clean:
	rm -rf $(VENV) build dist *.egg-info
