# Quote stage: train the attribution tagger, score it, measure it.
QUOTES_POLNEAR ?= ../shared/corpora/polnear
# Also SHIPPED_EPOCHS in tests/integration/quotes.rs, which checks the shipped model.
QUOTES_EPOCHS ?= 30

.PHONY: quotes-model quotes-eval quotes-holdout quotes-bench quotes-test

quotes-model: ## Train the quote tagger on PolNeAR train into models/quotes-tagger.bin (deterministic)
	@if [ -d "$(QUOTES_POLNEAR)/train" ]; then \
		cargo run --release --quiet --bin newsmill-train-quotes -- train --corpus "$(QUOTES_POLNEAR)/train" --models models --out models/quotes-tagger.bin --epochs $(QUOTES_EPOCHS); \
	else echo "skipping quotes-model: $(QUOTES_POLNEAR)/train not found"; fi

quotes-eval: ## Score the quote stage on PolNeAR dev (exact and overlap P/R/F1)
	@if [ -d "$(QUOTES_POLNEAR)/dev" ]; then \
		cargo run --release --quiet --bin newsmill-train-quotes -- eval --polnear "$(QUOTES_POLNEAR)/dev" --models models; \
	else echo "skipping quotes-eval: $(QUOTES_POLNEAR)/dev not found"; fi

quotes-holdout: ## Train on four fifths of PolNeAR train, score on the fifth held out, for every fifth (or FOLD=0..4 alone): how settings are chosen
	@if [ -d "$(QUOTES_POLNEAR)/train" ]; then \
		cargo run --release --quiet --bin newsmill-train-quotes -- holdout --corpus "$(QUOTES_POLNEAR)/train" --epochs $(QUOTES_EPOCHS) --folds 5 $(if $(FOLD),--fold $(FOLD),--all); \
	else echo "skipping quotes-holdout: $(QUOTES_POLNEAR)/train not found"; fi

quotes-bench: ## Throughput of the quote stage on one core (seeds + PolNeAR dev texts)
	cargo bench --bench quotes

quotes-test: ## Unit, property and integration tests of the quote stage
	cargo test --release --lib quotes
	cargo test --release --test integration quotes
