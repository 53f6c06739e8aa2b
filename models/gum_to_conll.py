"""GUM news (CoNLL-U with entity annotations) -> CoNLL-2003-style NER file, as a held-out check
of the entity tagger on news text it was not trained or tuned on.

Kept: GUM mentions of type person / place / organization whose tokens are all proper nouns
(PROPN), as PER / LOC / ORG; nested mentions give way to the outermost kept one. GUM has no
MISC and annotates names inside larger noun phrases differently from CoNLL, so precision
against it means little; compare recall, and compare models with one another.

Usage: python3 models/gum_to_conll.py GUM_DIR OUT_FILE
"""
import glob
import os
import re
import sys

TYPES = {"person": "PER", "place": "LOC", "organization": "ORG"}


def mentions(sent):
    """(start, end, GUM type) of every bracketed Entity mention of a sentence."""
    stack, out = [], []
    for i, (_, _, misc) in enumerate(sent):
        m = re.search(r"Entity=([^|]*)", misc)
        if not m:
            continue
        s, j = m.group(1), 0
        while j < len(s):
            if s[j] == "(":
                k = j + 1
                while k < len(s) and s[k] not in "()":
                    k += 1
                attrs = s[j + 1:k].split("-")
                etype = attrs[1] if len(attrs) > 1 else ""
                if k < len(s) and s[k] == ")":
                    out.append((i, i + 1, etype))
                    k += 1
                else:
                    stack.append((attrs[0], i, etype))
                j = k
            elif s[j] == ")":
                j += 1
            else:
                k = j
                while k < len(s) and s[k] not in "()":
                    k += 1
                eid = s[j:k]
                if k < len(s) and s[k] == ")":
                    for q in range(len(stack) - 1, -1, -1):
                        if stack[q][0] == eid:
                            _, start, etype = stack.pop(q)
                            out.append((start, i + 1, etype))
                            break
                    k += 1
                j = k
    return out


def write_sentence(out, sent):
    if not sent:
        return
    upos = [u for _, u, _ in sent]
    tags = ["O"] * len(sent)
    keep = [(a, b, TYPES[t]) for a, b, t in mentions(sent)
            if t in TYPES and all(upos[x] == "PROPN" for x in range(a, b))]
    keep.sort(key=lambda m: (m[0], m[0] - m[1]))
    used = set()
    for a, b, t in keep:
        if any(x in used for x in range(a, b)):
            continue
        for x in range(a, b):
            tags[x] = ("B-" if x == a else "I-") + t
            used.add(x)
    for (tok, _, _), tag in zip(sent, tags):
        out.write(f"{tok} X X {tag}\n")
    out.write("\n")


def main(gum_dir, out_path):
    files = sorted(glob.glob(os.path.join(gum_dir, "*.conllu")))
    if not files:
        sys.exit(f"no .conllu files in {gum_dir}")
    with open(out_path, "w", encoding="utf-8") as out:
        for fn in files:
            out.write("-DOCSTART- -X- -X- O\n\n")
            sent = []
            with open(fn, encoding="utf-8") as f:
                for line in f:
                    line = line.rstrip("\n")
                    if not line:
                        write_sentence(out, sent)
                        sent = []
                        continue
                    if line.startswith("#"):
                        continue
                    cols = line.split("\t")
                    if "-" in cols[0] or "." in cols[0]:
                        continue
                    sent.append((cols[1], cols[3], cols[9]))
            write_sentence(out, sent)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
