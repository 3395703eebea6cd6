#!/usr/bin/env python3
"""Writes corpus.txt: a deterministic text for word-count demos and end-to-end tests.

About 300 KB of lines of Zipf-distributed words from an invented vocabulary, with what real
text has and a naive splitter gets wrong: punctuation glued to words, runs of spaces, tabs,
blank lines, non-ASCII letters and very long and very short lines.
usage: gen_corpus.py [OUT] (default: corpus.txt next to this script)
"""
import os, random, sys

rng = random.Random(20261128)
syllables = ["ka", "lo", "mi", "sen", "tar", "vu", "dre", "quo", "ni", "bel", "rä", "zö", "ço", "fa", "gri"]
vocab = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(6000)})
rng.shuffle(vocab)
weights = [1.0 / (i + 1) for i in range(len(vocab))]
punct = ["", "", "", "", ",", ".", ";", "!", "?", ":", "'s", "\u2014"]
lines = []
size = 0
while size < 300_000:
    kind = rng.random()
    if kind < 0.04:
        line = ""
    else:
        n = rng.choice([1, 2, 5, 8, 10, 12, 16, 40]) if kind < 0.98 else 400
        words = [w + rng.choice(punct) for w in rng.choices(vocab, weights, k=n)]
        seps = [rng.choice([" ", " ", " ", "  ", "\t"]) for _ in words]
        line = "".join(w + s for w, s in zip(words, seps)).rstrip(" ") if rng.random() < 0.9 else "".join(w + s for w, s in zip(words, seps))
    lines.append(line)
    size += len(line.encode()) + 1
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus.txt")
with open(out, "w", encoding="utf-8") as f:
    f.write("\n".join(lines) + "\n")
