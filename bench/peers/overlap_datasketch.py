"""Peer for the copy tier: datasketch MinHash + MinHashLSH on the same documents, with the
same body normalization, the same word 3-gram shingles, the same number of permutations and
the same LSH bands as newsmill's copy tier, and the same verification rule (estimated
Jaccard, or containment estimated from the Jaccard estimate and the shingle counts), then
union-find. Prints one JSON object: seconds (signatures + LSH + verification + clustering),
ARI and pairwise precision/recall against the gold labels.

A second MinHash over character 5-grams of the same normalized body (CHAR_PERM permutations)
is used, as in newsmill, for verification only.

usage: overlap_datasketch.py FILE.jsonl TEXT_FIELD GOLD_FIELD [NUM_PERM BANDS ROWS MIN_J MIN_C MIN_C_SHINGLES CHAR_PERM MIN_CHAR_J]
"""
import json
import re
import sys
import time
from collections import Counter

from datasketch import MinHash, MinHashLSH

BOILERPLATE = re.compile(
    r"copyright|\u00a9|\(c\)\s*\d{4}|all rights reserved"
    r"|may not be (published|reproduced|redistributed)"
    r"|^\W*(share|follow|like) (this|us|on)\b"
    r"|^\W*(related|more) (stories|articles|news|coverage)\b"
    r"|^\W*(read more|click here|sign up|subscribe|advertisement|sponsored|print|email)\b"
    r"|contributed to this (report|story)"
    r"|this (story|article) has been (corrected|updated)"
    r"|^[^>\n]{0,40}>[^>\n]{0,40}>",
    re.IGNORECASE,
)
DATELINE = re.compile(r"^\s*[A-Z][A-Z .,'-]{1,40}(,[^()\n]{0,20})?\s*\([A-Za-z][A-Za-z .&-]{0,30}\)\s*(--|\u2014|\u2013|-)\s*")
WORD = re.compile(r"[^\W_]+", re.UNICODE)


def body_words(text):
    out = []
    for line in text.splitlines():
        if len(line.split()) < 60 and BOILERPLATE.search(line):
            continue
        m = DATELINE.match(line)
        if m:
            line = line[m.end():]
        out.extend(w.lower() for w in WORD.findall(line))
    if not out:
        out = [w.lower() for w in WORD.findall(text)]
    return out


def shingles(words, k=3):
    if not words:
        return set()
    if len(words) < k:
        return {" ".join(words)}
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def c2(n):
    return n * (n - 1) / 2


def scores(pred, gold):
    cells = Counter(zip(pred, gold))
    a, b = Counter(pred), Counter(gold)
    idx = sum(c2(v) for v in cells.values())
    A = sum(c2(v) for v in a.values())
    B = sum(c2(v) for v in b.values())
    exp = A * B / c2(len(pred))
    mx = (A + B) / 2
    return (idx - exp) / (mx - exp), idx / A if A else 1.0, idx / B if B else 1.0


def main():
    path, text_field, gold_field = sys.argv[1:4]
    num_perm, bands, rows = (int(x) for x in (sys.argv[4:7] or (256, 85, 3)))
    min_j, min_c = (float(x) for x in (sys.argv[7:9] or (0.47, 0.9)))
    min_cs = int(sys.argv[9]) if len(sys.argv) > 9 else 15
    char_perm = int(sys.argv[10]) if len(sys.argv) > 10 else 256
    min_char_j = float(sys.argv[11]) if len(sys.argv) > 11 else 0.65
    docs = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
    texts = [d[text_field] for d in docs]
    gold = [str(d[gold_field]) for d in docs]

    start = time.perf_counter()
    bodies = [body_words(t) for t in texts]
    sets = [shingles(w) for w in bodies]
    mhs, cmhs = [], []
    for w, s in zip(bodies, sets):
        m = MinHash(num_perm=num_perm, seed=1)
        m.update_batch([x.encode("utf-8") for x in s])
        mhs.append(m)
        joined = " ".join(w).encode("utf-8")
        grams = {joined[i:i + 5] for i in range(max(1, len(joined) - 4))} if joined else set()
        c = MinHash(num_perm=char_perm, seed=2)
        c.update_batch(list(grams))
        cmhs.append(c)
    lsh = MinHashLSH(num_perm=num_perm, params=(bands, rows))
    for i, m in enumerate(mhs):
        if sets[i]:
            lsh.insert(i, m)
    parent = list(range(len(texts)))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, m in enumerate(mhs):
        if not sets[i]:
            continue
        for j in lsh.query(m):
            if j <= i:
                continue
            jac = m.jaccard(mhs[j])
            na, nb = len(sets[i]), len(sets[j])
            small = min(na, nb)
            cont = min(1.0, jac / (1 + jac) * (na + nb) / small) if small else 0.0
            if jac >= min_j or cmhs[i].jaccard(cmhs[j]) >= min_char_j or (small >= min_cs and cont >= min_c):
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    pred = [find(i) for i in range(len(texts))]
    seconds = time.perf_counter() - start
    ari, p, r = scores(pred, gold)
    print(json.dumps({"peer": "datasketch", "documents": len(texts), "num_perm": num_perm, "bands": bands, "rows": rows, "char_perm": char_perm,
                      "seconds": seconds, "ari": ari, "pair_precision": p, "pair_recall": r}))


if __name__ == "__main__":
    main()
