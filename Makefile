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

.PHONY: setup lab test release check audit execute grade clean help

help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

## setup                  create .venv and install the course with its test tools
setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --progress-bar off -e ".[dev]"
	@touch $@

## lab                    open JupyterLab on notebooks/ (prints the URL); LAB_ARGS=... passes options
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
lab: setup
	@echo "Opening JupyterLab on notebooks/ (the URL with its token follows); Ctrl+C stops it."
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(ROOT_FLAG) $(LAB_ARGS)

## test                   everything CI runs; prints the audit table at the end
test: setup
	$(PY) -m pytest -n $(JOBS) -q tests
	$(PY) -m autograder audit --report

## release                regenerate notebooks/ and fromscratch/ from solutions/
release: setup
	$(PY) -m autograder release $(NB)

## check                  drift, import order, metadata (under 60 s)
check: setup
	$(PY) -m autograder verify

## audit [NB=NN-slug]     solution full marks, learner zero, every mutant killed
audit: setup
	$(PY) -m autograder audit $(NB) -j $(JOBS)

## execute [NB=..] BUDGET=default   reference outputs into solutions/, seconds and peak memory
execute: setup
	$(PY) -m autograder execute $(NB) --budget $(BUDGET)

## grade NB=NN-slug [FORCE=1]       autograde collected submissions, feedback, grades.csv
grade: setup
	@test -n "$(NB)" || { echo "usage: make grade NB=NN-slug [FORCE=1]"; exit 2; }
	$(PY) -m autograder grade $(NB) $(if $(FORCE),--force,)

clean:
	rm -rf build .pytest_cache
