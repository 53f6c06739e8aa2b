"""`make bench-big`: one large JSONL file (1 GB by default), generated in a temporary folder
and processed by `newsmill run` with every stage on, under /usr/bin/time. Prints the input
size, documents, wall time, MB/s and the peak resident memory, which must not grow with the
file beyond the per-document state of the whole-run stages.

usage: big_jsonl.py [--mb 1000] [--pipeline bench/pipelines/all.toml] [--keep]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from run_bench import BIN, timed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=1000)
    ap.add_argument("--pipeline", default="bench/pipelines/all.toml")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(REPO, "..", "shared", "corpora")):
        print("skipping: ../shared/corpora not found (the corpus is built from it)")
        return 0
    tmp = tempfile.mkdtemp(prefix="newsmill-big-")
    try:
        r = subprocess.run([sys.executable, os.path.join(HERE, "gen_corpus.py"), "--mb", str(a.mb), "--out", tmp],
                           capture_output=True, text=True, cwd=REPO)
        if r.returncode != 0:
            sys.exit(r.stderr)
        corpus = os.path.join(tmp, "corpus.jsonl")
        size = os.path.getsize(corpus)
        out = os.path.join(tmp, "out")
        stdout, wall, rss, cpu = timed([BIN, "run", a.pipeline, "--input", corpus, "--output", out, "--full",
                                        "--threads", str(a.threads), "--progress", "never", "--log-format", "json",
                                        "--summary", "json"])
        s = json.loads(stdout)
        res = {"file_mb": size / 1e6, "text_mb": s["input_text_bytes"] / 1e6, "documents": s["documents"],
               "rejected": s["rejected"], "threads": a.threads, "wall_s": wall,
               "mb_per_s": s["input_text_bytes"] / 1e6 / wall, "peak_rss_mb": rss, "cpu_s": cpu,
               "stage_seconds": dict(s["stage_seconds"]), "tables": s["tables"]}
        print(json.dumps(res, indent=1))
        print(f"{res['file_mb']:.0f} MB JSONL, {res['documents']} documents: {wall:.1f} s, "
              f"{res['mb_per_s']:.2f} MB/s, peak RSS {rss:.0f} MB", file=sys.stderr)
    finally:
        if a.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
