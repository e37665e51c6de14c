# Convenience targets; the README's two commands work without make.
.PHONY: help setup run test lint bench clean

## help: list the targets
help:
	@grep -E '^## ' Makefile | sed 's/^## /  /'

## setup: build or update .venv from pyproject.toml (skipped when up to date)
setup:
	python3 bootstrap.py setup

## run: the whole pipeline on data/ into reports/
run:
	python3 bootstrap.py run

## test: every test, notebooks included
test:
	python3 bootstrap.py test

## lint: ruff over the package
lint: setup
	.venv/bin/ruff check src tests benchmarks

## bench: speed and memory benchmarks (ratios against baselines in the same process)
bench: setup
	for b in benchmarks/*.py; do .venv/bin/python $$b || exit 1; done

## clean: remove derived data (data/interim) and reports (never the inputs)
clean:
	rm -rf data/interim reports/*
