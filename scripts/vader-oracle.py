#!/usr/bin/env python3
"""Scores a JSONL file of texts with Python's vaderSentiment 3.3.2, the scorer the seed
systems used: one {"text": ...} object (or a bare JSON string) a line in, one
{"compound", "label", "neg", "neu", "pos"} line out, in order. The sentiment plugin's
`score` example writes the same shape natively; tests/test_vader.py compares the two.

Usage: scripts/vader-oracle.py [texts.jsonl] [--field text] [--with-text] > scores.jsonl
"""

import argparse
import importlib.metadata
import json
import sys

WANT = "3.3.2"


def label(compound, threshold=0.05):
    """VADER's usual labels, as the plugin writes them."""
    if compound >= threshold:
        return "positive"
    if compound <= -threshold:
        return "negative"
    return "neutral"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", nargs="?", default="-", help="JSONL file, or - for stdin")
    parser.add_argument("--field", default="text", help="field holding the text (default: text)")
    parser.add_argument("--with-text", action="store_true",
                        help="copy the text into each output line (for recorded fixtures)")
    args = parser.parse_args()
    try:
        version = importlib.metadata.version("vaderSentiment")
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"vader-oracle: vaderSentiment is not installed; pip install vaderSentiment=={WANT}")
    if version != WANT:
        sys.exit(f"vader-oracle: vaderSentiment {version} is installed, the oracle is {WANT}")
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    source = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8")
    with source:
        for n, line in enumerate(source, 1):
            if not line.strip():
                continue
            value = json.loads(line)
            text = value if isinstance(value, str) else value.get(args.field)
            if not isinstance(text, str):
                sys.exit(f"vader-oracle: line {n} has no string {args.field!r} field")
            s = analyzer.polarity_scores(text)
            row = {"compound": s["compound"], "label": label(s["compound"]),
                   "neg": s["neg"], "neu": s["neu"], "pos": s["pos"]}
            if args.with_text:
                row = {"text": text, **row}
            print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
