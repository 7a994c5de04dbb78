"""How often a near-duplicate shares a MinHash band, by its similarity: the recall of the
cross-channel duplicate look-up (``gateway.records.links.bands``) on real messages.

    .venv/bin/python -m bench.duplicate_bands [--pairs 1500] [--seed 3]

Each message of ``messages-hot.jsonl`` longer than 80 characters is paired with a copy of itself in
which a random 5-35 % of the characters are replaced, and consecutive messages are paired as
unrelated texts. Prints, by estimated similarity (MinHash, rounded to 0.1), how many pairs share a
band, beside what theory gives (1 - (1 - J^3)^21), and the share of unrelated pairs that do.
"""

from __future__ import annotations

import argparse
import itertools
import random

from bench._common import read_jsonl
from gateway.records.links import BANDS, ROWS, bands, minhash, signature


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = [f"{m['title'] or ''}{m['text'] or ''}" for m in read_jsonl("messages-hot.jsonl")]
    texts = [t for t in texts if len(t) > 80][: args.pairs + 1]
    found: dict[float, list[int]] = {}
    for text in texts[: args.pairs]:
        share = rng.uniform(0.05, 0.35)
        copy = "".join("某" if rng.random() < share else c for c in text)
        similarity = round(float(minhash(text).jaccard(minhash(copy))), 1)
        shared = bool(set(bands(signature(text))) & set(bands(signature(copy))))
        counts = found.setdefault(similarity, [0, 0])
        counts[0] += shared
        counts[1] += 1
    print("| similarity | pairs | sharing a band | theory |")
    print("| ---: | ---: | ---: | ---: |")
    for similarity, (shared, pairs) in sorted(found.items()):
        theory = 1 - (1 - similarity**ROWS) ** BANDS
        print(f"| {similarity:.1f} | {pairs} | {shared / pairs:.3f} | {theory:.3f} |")
    unrelated = sum(
        bool(set(bands(signature(a))) & set(bands(signature(b)))) for a, b in itertools.pairwise(texts)
    )
    print(f"unrelated consecutive messages sharing a band: {unrelated} of {len(texts) - 1}")


if __name__ == "__main__":
    main()
