"""`make bench`: newsmill's throughput and memory, side by side with the peers users would
pick instead, measured in the same run on the same text and cores. Absolute times drift on a
shared machine, so the table reports ratios newsmill/peer pair by pair.

usage: run_bench.py [--mb 50] [--runs 3] [--peer-bytes 1000000] [--scaling 50,200,1000]
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.path.join(REPO, "target", "release", "newsmill")
WORK = os.path.join(REPO, "target", "bench")
PY = sys.executable


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, **kw)


def gen(mb, out):
    if not os.path.exists(os.path.join(out, "corpus.jsonl")):
        r = sh([PY, os.path.join(HERE, "gen_corpus.py"), "--mb", str(mb), "--out", out])
        if r.returncode != 0:
            sys.exit(r.stderr)
        print(r.stdout.strip(), file=sys.stderr)
    return os.path.join(out, "corpus.jsonl")


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (stdout, wall s, peak RSS MB, user+sys s)."""
    r = sh(["/usr/bin/time", "-v"] + cmd)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-3000:]}")
    t = r.stderr

    def grab(pat):
        m = re.search(pat, t)
        return m.group(1) if m else "0"

    wall = grab(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
    parts = [float(x) for x in wall.split(":")]
    secs = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
    rss = int(grab(r"Maximum resident set size \(kbytes\): (\d+)")) / 1024
    cpu = float(grab(r"User time \(seconds\): ([\d.]+)")) + float(grab(r"System time \(seconds\): ([\d.]+)"))
    return r.stdout, secs, rss, cpu


def newsmill_run(pipeline, corpus, out, threads, runs):
    rows = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        stdout, wall, rss, cpu = timed([BIN, "run", pipeline, "--input", corpus, "--output", out, "--threads",
                                        str(threads), "--full", "--progress", "never", "--log-format", "json",
                                        "--summary", "json"])
        s = json.loads(stdout)
        rows.append({"wall": wall, "rss_mb": rss, "cpu": cpu, "stages": dict(s["stage_seconds"]),
                     "bytes": s["input_text_bytes"], "documents": s["documents"]})
    med = lambda k: statistics.median(r[k] for r in rows)
    stages = {k: statistics.median(r["stages"].get(k, 0.0) for r in rows) for k in rows[0]["stages"]}
    mb = rows[0]["bytes"] / 1e6
    return {"threads": threads, "runs": runs, "mb": mb, "documents": rows[0]["documents"], "wall_s": med("wall"),
            "mb_per_s": mb / med("wall"), "docs_per_s": rows[0]["documents"] / med("wall"),
            "peak_rss_mb": max(r["rss_mb"] for r in rows), "cpu_s": med("cpu"), "stage_seconds": stages}


def sample(corpus, max_bytes, path):
    total = 0
    with open(corpus, encoding="utf-8") as f, open(path, "w", encoding="utf-8") as o:
        for line in f:
            o.write(line)
            total += len(json.loads(line)["text"].encode())
            if total >= max_bytes:
                break
    return path


def peer(script, *args):
    venv_py = os.path.join(REPO, ".venv-bench", "bin", "python")
    r = sh([venv_py, os.path.join(HERE, "peers", script)] + [str(a) for a in args])
    if r.returncode != 0:
        return {"error": r.stderr[-2000:]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peer-bytes", type=int, default=1_000_000)
    ap.add_argument("--copies-bytes", type=int, default=10_000_000)
    ap.add_argument("--scaling", default="")
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(REPO, "..", "shared", "corpora")):
        print("skipping: ../shared/corpora not found (the bench corpus is built from it)")
        return 0
    os.makedirs(WORK, exist_ok=True)
    res = {"date": datetime.date.today().isoformat(), "machine": {"cores": os.cpu_count()}}
    corpus = gen(a.mb, os.path.join(WORK, f"corpus-{a.mb:g}mb"))

    # newsmill end to end, every stage on, 1 and 2 threads; read+normalize alone.
    res["end_to_end"] = [newsmill_run("bench/pipelines/all.toml", corpus, os.path.join(WORK, "out"), t, a.runs)
                         for t in (1, 2)]
    res["read_normalize"] = [newsmill_run("bench/pipelines/read.toml", corpus, os.path.join(WORK, "out-read"), t, a.runs)
                             for t in (1, 2)]

    # Side by side on one sample, one core each.
    smp = sample(corpus, a.peer_bytes, os.path.join(WORK, "sample.jsonl"))
    words = sum(len(json.loads(l)["text"].split()) for l in open(smp, encoding="utf-8"))
    sbytes = sum(len(json.loads(l)["text"].encode()) for l in open(smp, encoding="utf-8"))
    ns = newsmill_run("bench/pipelines/all.toml", smp, os.path.join(WORK, "out-sample"), 1, a.runs)
    st = ns["stage_seconds"]
    spacy = peer("spacy_ner.py", smp, a.peer_bytes)
    textacy = peer("textacy_quotes.py", smp, a.peer_bytes)
    pairs = []
    if "seconds" in spacy and st.get("entities"):
        pairs.append({"what": "entities (words/s, 1 core)", "newsmill": words / st["entities"],
                      "peer": spacy["words"] / spacy["seconds"], "peer_name": spacy["peer"]})
    if "seconds" in textacy and st.get("quotes"):
        pairs.append({"what": "quotes (MB/s, 1 core)", "newsmill": sbytes / 1e6 / st["quotes"],
                      "peer": textacy["bytes"] / 1e6 / textacy["seconds"], "peer_name": textacy["peer"]})
    # Copies: the same documents, same shingles / permutations / bands, ARI against planted groups.
    ds_script = os.path.join(HERE, "peers", "overlap_datasketch.py")
    if os.path.exists(ds_script):
        copies_in = sample(corpus, a.copies_bytes, os.path.join(WORK, "copies.jsonl"))
        r = sh([BIN, "eval", "dedup", "--input", copies_in, "--text-field", "text", "--gold-field", "dup_group",
                "--id-field", "id", "--level", "copies", "--json"])
        ours = json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr[-2000:]}
        # Same shingles, permutations, bands and verification rule as newsmill's copy tier.
        theirs = peer("overlap_datasketch.py", copies_in, "text", "dup_group", 256, 85, 3, 0.47, 0.9, 15, 256, 0.65)
        res["copies"] = {"newsmill": ours, "datasketch": theirs}
        if "seconds" in ours and "seconds" in theirs:
            pairs.append({"what": "copies (documents/s, ARI {:.3f} vs {:.3f})".format(ours.get("ari", 0), theirs.get("ari", 0)),
                          "newsmill": ours["documents"] / ours["seconds"],
                          "peer": theirs["documents"] / theirs["seconds"], "peer_name": "datasketch MinHashLSH"})
    for p in pairs:
        p["ratio"] = p["newsmill"] / p["peer"] if p["peer"] else None
    res["sample"] = {"bytes": sbytes, "words": words, "newsmill": ns, "spacy": spacy, "textacy": textacy}
    res["pairs"] = pairs

    if a.scaling:
        res["scaling"] = []
        for mb in [float(x) for x in a.scaling.split(",")]:
            c = gen(mb, os.path.join(WORK, f"corpus-{mb:g}mb"))
            r = newsmill_run("bench/pipelines/all.toml", c, os.path.join(WORK, "out-scale"), 2, 1)
            res["scaling"].append(r)

    out_dir = os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, res["date"])
    json.dump(res, open(stem + ".json", "w"), indent=2)
    md = markdown(res)
    open(stem + ".md", "w").write(md)
    print(md)
    # A peer that could not run leaves its row out of the table: say so, and fail.
    failed = [(name, r["error"]) for name, r in (("spacy", spacy), ("textacy", textacy),
              ("datasketch", res.get("copies", {}).get("datasketch", {}))) if "error" in r]
    for name, err in failed:
        print(f"peer {name} failed (is .venv-bench installed? `make bench` installs it):\n{err}", file=sys.stderr)
    return 1 if failed else 0


def markdown(res):
    lines = [f"## newsmill benchmark, {res['date']} ({res['machine']['cores']} cores)", "",
             "| run | threads | MB | wall s | MB/s | docs/s | peak RSS MB | CPU s |", "|---|---|---|---|---|---|---|---|"]
    for name in ("end_to_end", "read_normalize"):
        for r in res[name]:
            lines.append(f"| {name} | {r['threads']} | {r['mb']:.1f} | {r['wall_s']:.2f} | {r['mb_per_s']:.2f} | "
                         f"{r['docs_per_s']:.0f} | {r['peak_rss_mb']:.0f} | {r['cpu_s']:.2f} |")
    lines += ["", "Stage seconds (end to end, 2 threads): " + ", ".join(
        f"{k} {v:.2f}" for k, v in res["end_to_end"][1]["stage_seconds"].items()), ""]
    lines += ["| side by side | newsmill | peer | ratio | peer |", "|---|---|---|---|---|"]
    for p in res["pairs"]:
        ratio = f"{p['ratio']:.1f}x" if p["ratio"] else "-"
        lines.append(f"| {p['what']} | {p['newsmill']:.0f} | {p['peer']:.0f} | {ratio} | {p['peer_name']} |")
    if "scaling" in res:
        lines += ["", "| scaling (2 threads) | MB/s | peak RSS MB |", "|---|---|---|"]
        for r in res["scaling"]:
            lines.append(f"| {r['mb']:.0f} MB | {r['mb_per_s']:.2f} | {r['peak_rss_mb']:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
