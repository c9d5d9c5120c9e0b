# The course's commands. Two do everything on a fresh machine:
#   make lab    sets up and opens JupyterLab on the learner notebooks
#   make test   sets up and runs every test (library, harness, round trip, nbval, honesty audit)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JOBS ?= 2
BUDGET ?= default
NB ?=
FORCE ?=
export FROMSCRATCH_DATA ?= $(abspath ../shared/data)
# UNSAFE=1 grades without the sandbox where none can start (docs/grading.md).
UNSAFE ?=
ifneq ($(UNSAFE),)
export FROMSCRATCH_UNSAFE_GRADING := 1
endif

.PHONY: setup sandbox-tools lab test test-fast stress-audit bench-dqn bench-modern bench-inference scaling-runs release check audit execute grade bench-grade bench-bpe bench-gpt clean help

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## setup                  create .venv and install the course with its test tools (rebuilds a half-made .venv)
setup: $(VENV)/.installed

# What setup installs into the venv (tests/test_setup.py swaps in a tiny package; the rule is the same).
INSTALL ?= -e ".[dev]"
# The venv is marked unfinished (.installing) until its install succeeds. A setup interrupted while
# `python -m venv` or pip ran, or one whose install failed, leaves a venv without pip or with half its
# packages: the next setup deletes it and starts again, but only if it holds nothing but a venv.
VENV_PARTS := bin|include|lib|lib64|share|pyvenv.cfg|\.installing|\.installed
$(VENV)/.installed: pyproject.toml
	@if [ -e $(VENV) ] && { [ -e $(VENV)/.installing ] || ! $(PY) -m pip --version >/dev/null 2>&1; }; then \
	  if ls -A $(VENV) | grep -qvxE '$(VENV_PARTS)'; then \
	    echo "setup: $(VENV) is broken and holds more than a virtual environment; remove it or set VENV=..."; exit 1; fi; \
	  echo "setup: $(VENV) is half-made (an interrupted or failed setup): rebuilding it"; rm -rf $(VENV); fi
	@if [ ! -e $(VENV) ]; then mkdir -p $(VENV) && touch $(VENV)/.installing && $(PYTHON) -m venv $(VENV); fi
	@touch $(VENV)/.installing
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --progress-bar off $(INSTALL)
	@rm -f $(VENV)/.installing
	@touch $@

# A finished venv whose Python no longer starts (its base Python was upgraded or removed) is set up again.
ifneq ($(wildcard $(VENV)/.installed),)
ifneq ($(shell $(PY) -c "import pip; print('ok')" 2>/dev/null),ok)
.PHONY: $(VENV)/.installed
endif
endif

# Grading (make grade, audit, test) runs kernels in a bubblewrap sandbox: install it where we can.
sandbox-tools:
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(uname)" = Linux ] && command -v apt-get >/dev/null 2>&1; then \
	    SUDO=$$([ "$$(id -u)" = 0 ] || echo "sudo -n"); \
	    $$SUDO apt-get install -y -q bubblewrap >/dev/null 2>&1 || \
	    { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q bubblewrap >/dev/null 2>&1; } || \
	    echo "note: could not install bubblewrap (sudo apt-get install bubblewrap); grading will refuse without it"; \
	  else echo "note: grading needs Linux with bubblewrap; elsewhere make grade/audit refuse unless UNSAFE=1"; fi; }

## lab                    open JupyterLab on notebooks/ (prints the URL); LAB_ARGS=... passes options
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	@echo "Opening JupyterLab on notebooks/ (the URL with its token follows); Ctrl+C stops it."
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

## test                   everything CI runs; prints the audit table at the end
# pytest runs $(JOBS) workers at once, so each (and every kernel it starts) gets its share of the cores, not all
# of them: OpenMP threads that outnumber the cores spin against each other (a 10 s notebook took 127 s in CI).
TEST_THREADS := $(shell n=$$(( $$(nproc) / $(JOBS) )); echo $$(( n > 0 ? n : 1 )))
# Workers steal queued tests from each other (--dist worksteal), so one long audit at the end does not leave
# the other worker idle. Tests marked `alone` (the adversarial corpus: its fork bomb takes every core for a cell's time limit) run
# after the others, by themselves, so that they slow down no notebook's timed run.
# The time table (by stage, by notebook) prints whatever the outcome; the exit status is the tests'.
test: setup sandbox-tools
	@rm -rf build/test-times; status=0; \
	OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) OPENBLAS_NUM_THREADS=$(TEST_THREADS) \
		$(PY) -m pytest -n $(JOBS) --dist worksteal -q -m "not alone and not library" tests || status=1; \
	$(PY) -m pytest -q -m alone tests || status=1; \
	$(PY) -m autograder audit --report || status=1; \
	$(PY) -m autograder times; \
	$(MAKE) --no-print-directory browser-note; \
	exit $$status

## stress-audit [NB="10-backprop-numpy 12-cnn"] [REPEAT=30]   grade solutions in parallel again and again; report every stall
REPEAT ?= 30
stress-audit: setup sandbox-tools
	OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) OPENBLAS_NUM_THREADS=$(TEST_THREADS) \
		$(PY) -m autograder.stress $(NB) --repeat $(REPEAT) -j $(JOBS)

## bench-dqn              notebook 31: our DQN recipe vs CleanRL's CartPole-v1 configuration replayed with our code, 3 seeds: steps and seconds to a greedy mean >= 475 -> data/bench-dqn.csv (~20 min)
bench-dqn: setup
	$(PY) benchmarks/dqn.py

## release                regenerate notebooks/ and fromscratch/ from solutions/
release: setup
	$(PY) -m autograder release $(NB)

## test-fast              every library module imports and each notebook's tests pass against it (under a minute)
test-fast: setup
	OMP_NUM_THREADS=$(TEST_THREADS) MKL_NUM_THREADS=$(TEST_THREADS) OPENBLAS_NUM_THREADS=$(TEST_THREADS) \
		$(PY) -m pytest -n $(JOBS) --dist worksteal -q -m library tests/test_library.py

## check                  drift, import order, metadata (under 60 s)
check: setup
	$(PY) -m autograder verify

## audit [NB=NN-slug]     solution full marks, learner zero, every mutant killed
audit: setup sandbox-tools
	$(PY) -m autograder audit $(NB) -j $(JOBS)

## execute [NB=..] BUDGET=default   reference outputs into solutions/, seconds and peak memory
execute: setup
	$(PY) -m autograder execute $(NB) --budget $(BUDGET)

## grade NB=NN-slug [FORCE=1] [JOBS=N] [UNSAFE=1]   sandboxed autograding, feedback, grades.csv
grade: setup sandbox-tools
	@test -n "$(NB)" || { echo "usage: make grade NB=NN-slug [FORCE=1] [JOBS=N] [UNSAFE=1]"; exit 2; }
	$(PY) -m autograder grade $(NB) -j $(JOBS) $(if $(FORCE),--force,)

## bench-grade [NB=..] [JOBS=N]   nbgrader's serial autograde vs sandboxed parallel grading, 40 submissions
bench-grade: setup sandbox-tools
	$(PY) benchmarks/grading.py $(if $(NB),--notebook $(NB),) --jobs $(JOBS)

## bench-bpe              our BPE vs Hugging Face on all of Tiny Shakespeare (1,000 tokens): seconds, bytes/token
bench-bpe: setup
	$(PY) benchmarks/bpe.py

## bench-gpt              the course GPT against nanoGPT's CPU recipe (replayed here), 103 s and 180 s runs: validation loss, tokens/s (~8 min)
bench-gpt: setup
	$(PY) benchmarks/gpt.py

## publish UPTO=NN REPO=owner/name [DEST=folder]   the learner repository: notebooks up to NN, the library of those before it
UPTO ?=
REPO ?=
DEST ?=
.PHONY: publish browser-note
publish: setup
	@test -n "$(UPTO)" || { echo "usage: make publish UPTO=NN REPO=owner/name [DEST=folder]"; exit 2; }
	$(PY) -m autograder publish "$(UPTO)" $(if $(REPO),--repo "$(REPO)") $(if $(DEST),--dest "$(DEST)")

## browser-note           say so when the browser test cannot run here (no Debian chromium) and how to get it
CHROMIUM ?= /usr/bin/chromium
browser-note:
	@test -x $(CHROMIUM) || [ -n "$$CI" ] || echo "note: the browser test (tests/test_launch.py) was skipped: \
	no $(CHROMIUM). Install Debian's chromium (sudo apt-get install chromium) and run make test again."

## bench-modern           notebook 19's Llama-style model against notebook 18's GPT, equal parameters and wall time (180 s each, in lockstep): validation loss, steps, tokens/s (~7 min)
bench-modern: setup
	$(PY) benchmarks/modern.py

## bench-inference        notebook 20: KV cache vs recompute (256 tokens at context 512, goal >= 3x), sink-cache memory over 10,000 tokens, speculative acceptance and target passes per token (~2 min; +1.5 min to train the models once)
bench-inference: setup
	$(PY) benchmarks/inference.py

## scaling-runs           notebook 23's table: seven GPTs on Tiny Shakespeare, 2.05 M tokens each -> data/scaling-runs.csv (~25 min)
scaling-runs: setup
	$(PY) benchmarks/scaling_runs.py

clean:
	rm -rf build .pytest_cache
