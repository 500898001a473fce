#!/usr/bin/env python3
"""Times the Python references on the paragraphs of `benches/core.rs` (group `metrics`).

The baseline for README's metrics speed ratio: the official SQuAD v1.1 token F1 (the
same functions as fixtures/metrics/make_fixtures.py) and rouge-score 0.1.2 without
stemming, on the same two paragraphs. Run it right after the criterion bench, on the
same machine:

    python3 -m venv fixtures/.venv
    fixtures/.venv/bin/pip install -r fixtures/metrics/requirements.txt
    cargo bench -p poq-core --bench core -- metrics
    fixtures/.venv/bin/python bench/metrics_reference.py
"""

import os
import re
import sys
import timeit

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures", "metrics"))
from make_fixtures import exact_match_score, f1_score  # noqa: E402
from rouge_score import rouge_scorer  # noqa: E402

SRC = os.path.join(os.path.dirname(__file__), "..", "crates", "poq-core", "benches", "core.rs")


def paragraph(name):
    text = open(SRC, encoding="utf-8").read()
    m = re.search(r"const " + name + r': &str = "(.*?)";', text, re.S)
    return re.sub(r"\\\n\s*", "", m.group(1))


def best_us(fn, number):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main():
    a, b = paragraph("PARAGRAPH_A"), paragraph("PARAGRAPH_B")
    rl = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    everything = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=False)
    print(f"squad_f1/paragraph  {best_us(lambda: f1_score(a, b), 2000):9.2f} us")
    print(f"rougeL/paragraph    {best_us(lambda: rl.score(b, a), 500):9.2f} us")
    print(f"all/paragraph       {best_us(lambda: (exact_match_score(a, b), f1_score(a, b), everything.score(b, a)), 300):9.2f} us")


if __name__ == "__main__":
    main()
