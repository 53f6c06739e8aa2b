# Overlap stage (copies, stories, quote clusters): evaluation, tests, benchmark vs datasketch.
OVERLAP_VENV := .venv-overlap
OVERLAP_CORPORA := ../shared/corpora
OVERLAP_SYN := $(OVERLAP_CORPORA)/ecbplus-syndication-synth/dev.jsonl

.PHONY: eval-overlap test-overlap bench-overlap overlap-venv

$(OVERLAP_VENV)/.done: bench/peers/requirements-overlap.txt
	python3 -m venv $(OVERLAP_VENV)
	$(OVERLAP_VENV)/bin/pip install --quiet -r bench/peers/requirements-overlap.txt
	touch $@

overlap-venv: $(OVERLAP_VENV)/.done ## Create the pinned Python venv (.venv-overlap) for the datasketch peer

test-overlap: ## Unit, property, golden (seeds) and dev-floor tests of the overlap stage
	cargo test --release --lib overlap
	cargo test --release --test integration overlap

eval-overlap: ## Score copies and stories on the dev corpora (in-process, via the floor tests' evaluation)
	@if [ ! -d $(OVERLAP_CORPORA) ]; then echo "skipping: $(OVERLAP_CORPORA) not found"; exit 0; fi
	cargo test --release --test integration overlap::floor -- --nocapture --test-threads 1 2>&1 | grep -E "Scores|test result"

bench-overlap: $(OVERLAP_VENV)/.done ## Copy tier throughput (1 and 2 threads) side by side with datasketch MinHashLSH (same shingles, 256-permutation word signatures, 85x3 bands; a 256-slot character signature, one permutation here and 256 in the peer)
	cargo bench --bench overlap
	@if [ -f $(OVERLAP_SYN) ]; then \
	  $(OVERLAP_VENV)/bin/python bench/peers/overlap_datasketch.py $(OVERLAP_SYN) text dup_group 256 85 3 0.47 0.9 15 256 0.65 > target/overlap-peer.json && \
	  cat target/overlap-peer.json && \
	  $(OVERLAP_VENV)/bin/python bench/peers/overlap_ratio.py target/overlap-bench.json target/overlap-peer.json; \
	else echo "skipping the datasketch comparison: $(OVERLAP_SYN) not found"; fi
