# Train Lab: `make run` sets up and starts the app; `make test` sets up and runs every test;
# `make bench` sets up and runs the benchmarks (not part of the tests).
PYTHON ?= python3
VENV ?= .venv
# requirements-cuda.txt: the same packages with TensorFlow's CUDA build (make clean first)
REQUIREMENTS ?= requirements.txt
PORT ?= 8501
BIN := $(VENV)/bin

.PHONY: run classroom test test-fast bench setup setup-dev browser postgres workers-stop clean

run: setup  ## set up, then start the app on http://localhost:$(PORT) (this machine only)
	$(BIN)/streamlit run app.py --server.port $(PORT)

classroom: setup  ## set up, then serve a class: sign-in on, listening on the network (README: Running a class)
	$(BIN)/python -m core serve --classroom --port $(PORT)

# The tests wait on servers, worker pools and browsers more than they compute: three processes fill two cores.
TEST_PROCESSES ?= 3

test: setup-dev browser postgres  ## set up, then lint (ruff, import contracts) and run the whole test suite
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist loadgroup

test-fast: setup-dev  ## the fast tier while developing: lint, then every test but the browser and worker-pool ones
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 -m "not browser and not integration"

bench: setup-dev browser  ## set up (Playwright and Chromium for figures 6, 7 and 10), then run the benchmarks (about 80 minutes on 2 cores); figures in bench/out/
	$(BIN)/python -m bench $(BENCH_ARGS)

setup: $(VENV)/.stamp-app
setup-dev: $(VENV)/.stamp-dev

$(VENV)/.stamp-app: $(REQUIREMENTS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r $(REQUIREMENTS)
	$(BIN)/python scripts/link_project.py
	touch $@

$(VENV)/.stamp-dev: $(VENV)/.stamp-app requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

browser:  ## Debian's Chromium for the browser tests (Playwright never downloads one)
	@test -x /usr/bin/chromium || scripts/install-debian.sh chromium

postgres:  ## Debian's PostgreSQL server binaries for the PostgreSQL store's tests (each run starts its own server)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || scripts/install-debian.sh postgresql

workers-stop:  ## stop the background worker pool
	$(BIN)/python -m core workers stop

clean:
	rm -rf $(VENV)
