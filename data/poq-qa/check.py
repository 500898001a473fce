#!/usr/bin/env python3
"""Validate a question-answering set in the SQuAD v1.1 JSON schema.

Usage: python3 check.py [PATH]   (default: poq-qa-v1.json next to this script)

Checks: the schema (exact keys and types at every level), unique question ids,
non-empty titles, contexts, questions and answer texts, and every answer offset:
``context[answer_start:answer_start + len(text)] == text`` with Python string
indexing, i.e. offsets count Unicode code points. Prints the counts on success;
on the first failure prints a message naming the article, paragraph or question
id and exits with status 1. Standard library only.
"""

import json
import os
import sys

DEFAULT_NAME = "poq-qa-v1.json"


class CheckError(Exception):
    pass


def fail(where, msg):
    raise CheckError(f"{where}: {msg}")


def expect_keys(obj, keys, where):
    if not isinstance(obj, dict):
        fail(where, f"expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in keys if k not in obj]
    if missing:
        fail(where, f"missing key(s) {missing}")
    extra = sorted(set(obj) - set(keys))
    if extra:
        fail(where, f"unexpected key(s) {extra}")


def expect_str(value, where, what):
    if not isinstance(value, str):
        fail(where, f"{what} must be a string, got {type(value).__name__}")
    if not value.strip():
        fail(where, f"{what} is empty")


def expect_list(value, where, what):
    if not isinstance(value, list):
        fail(where, f"{what} must be a list, got {type(value).__name__}")
    if not value:
        fail(where, f"{what} is empty")


def check(ds):
    expect_keys(ds, ["version", "data"], "top level")
    expect_str(ds["version"], "top level", "version")
    expect_list(ds["data"], "top level", "data")

    ids = {}
    n_par = n_q = n_ans = 0
    for ai, article in enumerate(ds["data"]):
        where = f"article {ai}"
        expect_keys(article, ["title", "paragraphs"], where)
        expect_str(article["title"], where, "title")
        where = f"article {ai} ({article['title']!r})"
        expect_list(article["paragraphs"], where, "paragraphs")
        for pi, par in enumerate(article["paragraphs"]):
            pwhere = f"{where}, paragraph {pi}"
            expect_keys(par, ["context", "qas"], pwhere)
            expect_str(par["context"], pwhere, "context")
            expect_list(par["qas"], pwhere, "qas")
            context = par["context"]
            n_par += 1
            for qi, qa in enumerate(par["qas"]):
                qwhere = f"{pwhere}, question {qi}"
                if isinstance(qa, dict) and isinstance(qa.get("id"), str) and qa["id"].strip():
                    qwhere = f"id {qa['id']!r}"
                expect_keys(qa, ["id", "question", "answers"], qwhere)
                expect_str(qa["id"], qwhere, "id")
                qid = qa["id"]
                if qid in ids:
                    fail(qwhere, f"duplicate id (first used in {ids[qid]})")
                ids[qid] = pwhere
                expect_str(qa["question"], qwhere, "question")
                expect_list(qa["answers"], qwhere, "answers")
                seen = set()
                for ni, ans in enumerate(qa["answers"]):
                    awhere = f"{qwhere}, answer {ni}"
                    expect_keys(ans, ["text", "answer_start"], awhere)
                    expect_str(ans["text"], awhere, "answer text")
                    text, start = ans["text"], ans["answer_start"]
                    if text != text.strip():
                        fail(awhere, f"answer text {text!r} has leading or trailing whitespace")
                    if isinstance(start, bool) or not isinstance(start, int):
                        fail(awhere, f"answer_start must be an integer, got {start!r}")
                    if not 0 <= start <= len(context) - len(text):
                        fail(awhere, f"answer_start {start} out of range for text {text!r} "
                                     f"(context has {len(context)} code points)")
                    got = context[start : start + len(text)]
                    if got != text:
                        hint = context.find(text)
                        hint = f"; the text first occurs at {hint}" if hint >= 0 else "; the text is not in the context"
                        fail(awhere, f"offset mismatch: context[{start}:{start + len(text)}] is "
                                     f"{got!r}, expected {text!r}{hint}")
                    if (text, start) in seen:
                        fail(awhere, f"duplicate answer {text!r} at {start}")
                    seen.add((text, start))
                    n_ans += 1
                n_q += 1
    return {"articles": len(ds["data"]), "paragraphs": n_par, "questions": n_q, "answers": n_ans}


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__.strip())
        return 0 if len(argv) == 2 else 2
    path = argv[1] if len(argv) == 2 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), DEFAULT_NAME)
    try:
        with open(path, encoding="utf-8") as f:
            ds = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        print(f"FAIL {path}: cannot load: {e}", file=sys.stderr)
        return 1
    try:
        counts = check(ds)
    except CheckError as e:
        print(f"FAIL {path}: {e}", file=sys.stderr)
        return 1
    print(f"OK {path} (version {ds['version']})")
    for k, v in counts.items():
        print(f"  {k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
