# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create (or reuse) .venv and install what they need, Debian packages included.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# LiveKit's JS SDK for tests/jssdk, the versions pinned in its package-lock.json (npm ci: the
# registry is used here, at set-up; the tests themselves fetch nothing).
JSSDK := tests/jssdk/node_modules/.installed
PYTEST_ARGS ?=
# Two pytest workers (pytest-xdist), each in a network namespace of its own; --dist loadfile keeps a
# file's tests, and the servers its module fixtures start, on one worker. PYTEST_JOBS=0 runs serially.
PYTEST_JOBS ?= 2

.PHONY: demo test test-device lint fmt unit system-deps jssdk bench clean

$(STAMP): pyproject.toml android/flet_livekit/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[server,devsfu,test]'
	$(PY) -m pip install -q -e android/flet_livekit
	touch $@

system-deps:
	bash scripts/system-deps.sh

$(JSSDK): tests/jssdk/package.json tests/jssdk/package-lock.json
	cd tests/jssdk && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

jssdk: system-deps $(JSSDK)

demo: system-deps $(STAMP)
	$(PY) scripts/demo.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

unit: $(STAMP)
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

test: system-deps $(STAMP) $(JSSDK) lint
	$(PY) -m pytest -n $(PYTEST_JOBS) --dist loadfile --durations=15 $(PYTEST_ARGS)

# The UI scenarios on two phones or emulators running the APK (android/README.md says how to get
# there). Outside the tests' private network namespace: --confcutdir keeps tests/conftest.py, which
# enters it, from loading. Skips, with the reason, without adb, two devices and VOIP_DEVICE_HOST.
test-device: $(STAMP)
	$(PY) -m pip install -q -e '.[device]'
	$(PY) -m pytest tests/device --confcutdir=tests/device -m device $(PYTEST_ARGS)

bench: system-deps $(STAMP)
	$(PY) -m bench.signaling
	$(PY) -m bench.media
	$(PY) -m bench.client
	$(PY) -m bench.signin

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache tests/jssdk/node_modules
