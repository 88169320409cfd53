# gi-book: `make book` builds the static book, `make test` runs every test and notebook.
# Both create the virtual environment .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Exact versions the project is tested with; `make CONSTRAINTS= book` installs the newest allowed versions.
CONSTRAINTS ?= constraints.txt
STAMP := $(VENV)/.installed
# The benchmark's own packages (pythae, for the comparison), kept out of the book's environment.
BENCH_ENV ?= .bench-env
BENCH_STAMP := $(BENCH_ENV)/.installed

.PHONY: book test check-book bench notebooks sync clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[book,test]"
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "open _build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest --nbval

# Open every page of the built book in headless Chromium at 1400 and 390 px (tests/browser; needs `chromium`).
check-book: book
	GI_BUILT_BOOK=_build/html GI_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q tests/browser

$(BENCH_STAMP): benchmarks/requirements.txt $(STAMP)
	$(BIN)/python -m pip install --quiet --no-deps --target $(BENCH_ENV) -r benchmarks/requirements.txt
	touch $(BENCH_STAMP)

# The Trainer against a DataLoader loop and pythae, then S runs batched against S runs one after another.
bench: $(STAMP) $(BENCH_STAMP)
	PYTHONPATH=$(BENCH_ENV) $(BIN)/python benchmarks/bench_trainer.py
	$(BIN)/python benchmarks/bench_multi_run.py

# Re-pair the jupytext sources and re-execute every notebook in the quick profile (writes outputs).
notebooks: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.py
	GI_PROFILE=quick $(BIN)/jupyter execute --inplace --timeout=1200 notebooks/*.ipynb

clean:
	rm -rf _build
