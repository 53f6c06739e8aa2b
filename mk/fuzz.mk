# Long property-test sweeps over arbitrary input (readers, normalizer, extractors): the same
# properties `make test` checks with 256 cases each, here with many more.
FUZZ_CASES ?= 20000

.PHONY: fuzz
fuzz: ## Property tests with FUZZ_CASES arbitrary inputs each (default 20000); prints how long it ran
	@start=$$(date +%s); PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --release --lib props; \
	echo "fuzz: $(FUZZ_CASES) cases per property in $$(( $$(date +%s) - start )) s"
