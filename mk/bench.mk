# Benchmarks: newsmill against the peers users would pick instead (see bench/run_bench.py).
BENCH_VENV := .venv-bench

BENCH_STAMP := $(BENCH_VENV)/.installed

# A stamp file: bin/python is a symlink, and touching it would touch the interpreter.
$(BENCH_STAMP): bench/requirements.txt
	python3 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	@touch $@

.PHONY: bench bench-full
bench: build $(BENCH_STAMP) ## Benchmark on a 50 MB generated corpus, side by side with spaCy, textacy, datasketch
	python3 bench/run_bench.py --mb 50 --runs 3

bench-full: build $(BENCH_STAMP) ## Headline benchmark at 1 GB, with scaling at 50 MB, 200 MB and 1 GB
	python3 bench/run_bench.py --mb 1000 --runs 1 --scaling 50,200,1000

.PHONY: bench-big
bench-big: build ## One 1 GB JSONL file in a temporary folder, every stage on: wall time and peak memory
	python3 bench/big_jsonl.py --mb $(or $(MB),1000)
