"""Opens every table folder of a newsmill output with polars, pyarrow and DuckDB, the way a
notebook would, and checks each row count against the run manifest.

usage: check_tables.py OUTPUT_DIR
"""
import glob
import json
import os
import sys

import duckdb
import polars as pl
import pyarrow.dataset as ds

TABLES = ["documents", "mentions", "entities", "quotes", "quote_clusters", "duplicates", "stories", "rejects"]


def main(out: str) -> int:
    manifests = sorted(glob.glob(os.path.join(out, "_runs", "*.json")), key=os.path.getmtime)
    if not manifests:
        print(f"no run manifest under {out}/_runs", file=sys.stderr)
        return 1
    expected = json.load(open(manifests[-1]))["tables"]
    failures = 0
    checks = 0
    for t in TABLES:
        folder = os.path.join(out, t)
        want = expected.get(t)
        got = {
            "polars": pl.scan_parquet(folder + "/").select(pl.len()).collect().item(),
            "pyarrow": ds.dataset(folder, format="parquet").count_rows(),
            "duckdb": duckdb.sql(f"select count(*) from read_parquet('{folder}/*.parquet')").fetchall()[0][0],
        }
        for reader, n in got.items():
            checks += 1
            if n != want:
                failures += 1
                print(f"FAIL {t} via {reader}: {n} rows, manifest says {want}")

    # One row per key, as DESIGN.md's tables say ("one row per ...").
    for t, key in [("documents", ["doc_id"]), ("entities", ["entity_id"]), ("quotes", ["quote_id"]),
                   ("quote_clusters", ["quote_cluster_id"]), ("duplicates", ["doc_id"]), ("stories", ["story_id"]),
                   ("mentions", ["doc_id", "char_start", "char_end"])]:
        df = pl.read_parquet(os.path.join(out, t) + "/", columns=key)
        checks += 1
        dups = df.height - df.unique().height
        if dups:
            failures += 1
            print(f"FAIL {t}: {dups} rows repeat a key {key}")

    docs = pl.read_parquet(os.path.join(out, "documents") + "/")
    text = dict(zip(docs["doc_id"], docs["text"]))
    for t, col in [("mentions", "text"), ("quotes", "text")]:
        df = pl.read_parquet(os.path.join(out, t) + "/")
        for row in df.iter_rows(named=True):
            checks += 1
            if text[row["doc_id"]][row["char_start"]:row["char_end"]] != row[col]:
                failures += 1
                print(f"FAIL {t}: offsets {row['char_start']}..{row['char_end']} do not slice {row[col]!r}")
    print(f"interop: {checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
