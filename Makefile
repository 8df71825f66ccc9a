# Set-up is automatic: every target bootstraps .venv (and bubblewrap, where apt can install it).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: test lint demo data build bench sysdeps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip==26.3"
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# bubblewrap is the grading sandbox and libseccomp its syscall policy; install them when missing and apt is usable. The system's
# python3 builds the environment in which the tests grade as a normal user (tests/nonroot.py).
sysdeps:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null) \
	      || echo "warning: could not install bubblewrap; ctlab grade will fall back"; \
	  else echo "warning: bwrap not found and apt-get unavailable; ctlab grade will fall back"; fi; }
	@/sbin/ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libseccomp2 >/dev/null) \
	      || echo "warning: could not install libseccomp2; ctlab grade cannot build its syscall policy"; \
	  else echo "warning: libseccomp2 not found; ctlab grade cannot build its syscall policy"; fi; }
	@[ -x /usr/bin/python3 ] || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 >/dev/null) \
	      || echo "warning: could not install python3; the non-root grading tests will fail"; \
	  else echo "warning: /usr/bin/python3 not found; the non-root grading tests need a system Python 3.11+"; fi; }
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "warning: could not install chromium; the report's browser test will be skipped"; \
	  else echo "warning: chromium not found and apt-get unavailable; the report's browser test will be skipped"; fi; }

# Test files run in parallel, one file per worker (its module fixtures are built once); -n auto is one
# worker per core.
test: lint sysdeps
	$(BIN)/pytest -q -n auto --dist loadfile

# Style and types first: ruff on the code and tests, mypy strict on src/ctlab (both set in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/mypy

data: $(STAMP)
	$(BIN)/ctlab data build --out data
	$(BIN)/ctlab data flatten data/transfer/ec2_proxy_s3_exfiltration_2020-09-14011940.json --out data/transfer

# Everything that depends on the master notebook: assignment/, autograder/, then the demo and test
# submissions made from the student notebook.
build: $(STAMP)
	$(BIN)/ctlab build
	$(BIN)/python tests/test_report_demo.py
	$(BIN)/python tests/notebooks/make_corpus.py
	$(BIN)/python tests/submissions/make_corpus.py
	$(BIN)/python tests/submissions/make_hostile_inputs.py
	$(BIN)/python tests/submissions/make_hostile_answers.py
	$(BIN)/python tests/submissions/make_hostile_sandbox.py

demo: $(STAMP) sysdeps
	$(BIN)/ctlab grade tests/submissions/demo -o demo-out

clean:
	rm -rf $(VENV) demo-out build *.egg-info src/*.egg-info

bench: $(STAMP)
	$(BIN)/python tests/benchmarks/bench_data.py
	$(BIN)/python tests/benchmarks/bench_grade.py
	$(BIN)/python tests/benchmarks/bench_small.py
	PYTHONPATH=tests $(BIN)/python tests/benchmarks/bench_review.py
