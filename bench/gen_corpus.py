"""Builds a realistic benchmark corpus of any size from the real news text in ../shared/corpora.

New unique reports are assembled from real paragraphs (PolNeAR, ECB+, CoNLL-2003 and the seed
reports), and a known share of planted copies is added: syndicated (new dateline and footer),
truncated, lightly edited and OCR-noised. Every record carries its gold `dup_group`, so copy
detection can be scored on the generated corpus too. Deterministic from --seed.

usage: gen_corpus.py --mb 50 --out DIR [--seed 7] [--copy-share 0.25] [--txt] [--gzip]
writes DIR/corpus.jsonl (or .jsonl.gz) and, with --txt, DIR/txt/NNNNNNN.txt
"""
import argparse
import glob
import gzip
import json
import os
import random
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
OUTLETS = ["Wire Service", "Daily Ledger", "The Courier", "Metro Times", "Evening Post", "Global Report"]
CITIES = ["WASHINGTON", "LONDON", "NEW YORK", "PARIS", "BERLIN", "KYIV", "BRUSSELS", "TOKYO"]


def paragraphs_of(text):
    for p in text.replace("\r", "").split("\n"):
        p = " ".join(p.split())
        if len(p.split()) >= 8:
            yield p


def conll_docs(path):
    doc, sent = [], []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("-DOCSTART-"):
            if doc:
                yield doc
            doc = []
            continue
        if not line:
            if sent:
                doc.append(detok(sent))
                sent = []
            continue
        sent.append(line.split(" ")[0])
    if doc:
        yield doc


def detok(tokens):
    out = ""
    for t in tokens:
        if out and not (t in ",.;:!?%)'s" or t.startswith("'") or out.endswith("(") or out.endswith("$")):
            out += " "
        out += t
    return out


def pool(root):
    paras = []
    for p in sorted(glob.glob(os.path.join(root, "corpora/polnear/train/text/*.txt"))):
        paras.extend(paragraphs_of(open(p, encoding="utf-8").read()))
    for name in ["ecbplus-stories/dev.jsonl", "ecbplus-syndication-synth/dev.jsonl"]:
        path = os.path.join(root, "corpora", name)
        if os.path.exists(path):
            for line in open(path, encoding="utf-8"):
                paras.extend(paragraphs_of(json.loads(line)["text"]))
    conll = os.path.join(root, "corpora/conll2003/eng.train")
    if os.path.exists(conll):
        for doc in conll_docs(conll):
            # CoNLL documents: group sentences in threes as paragraphs.
            for i in range(0, len(doc), 3):
                p = " ".join(doc[i : i + 3])
                if len(p.split()) >= 8:
                    paras.append(p)
    for p in sorted(glob.glob(os.path.join(root, "seeds/*.txt"))):
        paras.extend(paragraphs_of(open(p, encoding="utf-8").read()))
    # Deduplicate, keep order.
    seen, out = set(), []
    for p in paras:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def title_of(rng, paras):
    words = rng.choice(paras).split()[: rng.randint(5, 11)]
    return " ".join(w.strip(".,;:\"“”") for w in words).strip().capitalize()


def ocr_noise(rng, text, rate=0.02):
    subs = {"l": "1", "o": "0", "e": "c", "m": "rn", "i": "l", "S": "5"}
    out = []
    for ch in text:
        if ch in subs and rng.random() < rate:
            out.append(subs[ch])
        else:
            out.append(ch)
    return "".join(out)


def light_edit(rng, paras):
    paras = list(paras)
    if len(paras) > 3:
        del paras[rng.randrange(1, len(paras))]
    i = rng.randrange(len(paras))
    words = paras[i].split()
    for _ in range(max(1, len(words) // 20)):
        j = rng.randrange(len(words))
        words[j] = rng.choice(["reportedly", "also", "now", "still", words[j].upper()])
    paras[i] = " ".join(words)
    return paras


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--copy-share", type=float, default=0.25)
    ap.add_argument("--txt", action="store_true")
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--shared", default=ROOT)
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(a.shared, "corpora")):
        print(f"skipping: {a.shared}/corpora not found", file=sys.stderr)
        return 0
    rng = random.Random(a.seed)
    paras = pool(a.shared)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "corpus.jsonl" + (".gz" if a.gzip else ""))
    f = gzip.open(path, "wt", encoding="utf-8") if a.gzip else open(path, "w", encoding="utf-8")
    txt_dir = os.path.join(a.out, "txt")
    if a.txt:
        os.makedirs(txt_dir, exist_ok=True)
    target = int(a.mb * 1_000_000)
    written = n = 0
    originals = []  # (id, title, paras) of recent originals to copy from
    while written < target:
        n += 1
        rid = f"r{n:07d}"
        day = 1 + rng.randrange(28)
        published = f"2025-{1 + rng.randrange(12):02d}-{day:02d}T{rng.randrange(24):02d}:00:00Z"
        if originals and rng.random() < a.copy_share:
            src_id, title, src = rng.choice(originals)
            kind = rng.choice(["syndicated", "truncated", "light_edit", "ocr_noise"])
            if kind == "syndicated":
                body = list(src)
                body[0] = f"{rng.choice(CITIES)} ({rng.choice(OUTLETS)}) — {body[0]}"
                body.append(f"© 2025 {rng.choice(OUTLETS)}. All rights reserved.")
            elif kind == "truncated":
                body = src[: max(2, int(len(src) * rng.uniform(0.4, 0.8)))]
            elif kind == "light_edit":
                body = light_edit(rng, src)
            else:
                body = [ocr_noise(rng, p) for p in src]
            group = src_id
        else:
            kind = "original"
            title = title_of(rng, paras)
            # Paragraphs drawn at random from the whole pool, so that two originals share little
            # text (consecutive runs would make accidental near-copies of each other).
            body = rng.sample(paras, rng.randint(4, 14))
            group = rid
            originals.append((rid, title, body))
            if len(originals) > 2000:
                originals.pop(rng.randrange(len(originals)))
        text = "\n".join(body)
        rec = {"id": rid, "title": title, "text": text, "published_at": published,
               "outlet": rng.choice(OUTLETS), "dup_group": group, "variant": kind}
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        if a.txt:
            with open(os.path.join(txt_dir, f"{rid}.txt"), "w", encoding="utf-8") as t:
                t.write(title + "\n\n" + text + "\n")
        written += len(text.encode("utf-8"))
    f.close()
    print(json.dumps({"path": path, "records": n, "text_bytes": written, "paragraph_pool": len(paras)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
