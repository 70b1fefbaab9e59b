"""Make the UCI Adult sample shipped in ``selfsup_tabular/datasets/data/``.

Draws a seeded random subset, stratified by ``income``, of 4,000 rows of
``adult.data`` and 2,000 rows of ``adult.test``, keeps the rows in file order,
and writes them as gzipped CSVs (header row with the ``adult.names`` column
names, ``,`` separators, ``?`` for missing values, test labels without their
trailing ``.``). The gzip header carries no timestamp, so reruns produce
identical bytes.

Usage (from the repository root)::

    .venv/bin/python plugins/tabular/scripts/make_adult_sample.py --root ../shared/data/adult
"""

from __future__ import annotations

import argparse
from pathlib import Path

from selfsup_tabular.datasets.adult import ADULT_COLUMNS, ADULT_TARGET, SAMPLE_FILES, read_adult_file
from selfsup_tabular.datasets.splits import split_off, stratify_codes

__all__ = ["main", "make_sample"]

ROWS = {"train": 4000, "test": 2000}
SOURCES = {"train": "adult.data", "test": "adult.test"}
SEED = 0
OUT = Path(__file__).resolve().parents[1] / "selfsup_tabular" / "datasets" / "data"


def make_sample(root: Path, out: Path = OUT, seed: int = SEED) -> dict[str, Path]:
    """Write the sample files into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, source in SOURCES.items():
        frame, _ = read_adult_file(root / source)
        groups = stratify_codes(frame[ADULT_TARGET])
        taken, _ = split_off(len(frame), ROWS[split], groups=groups, seed=[seed, int(split == "test")])
        sample = frame.iloc[taken][ADULT_COLUMNS]
        path = out / SAMPLE_FILES[split]
        sample.to_csv(path, index=False, na_rep="?", compression={"method": "gzip", "mtime": 0, "compresslevel": 9})
        written[split] = path
        share = (sample[ADULT_TARGET] == ">50K").mean()
        print(f"{path.name}: {len(sample)} rows of {source} ({len(frame)}), >50K share {share:.3f}, "
              f"{path.stat().st_size / 1024:.1f} KiB")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="folder with adult.data and adult.test")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    make_sample(args.root, args.out, args.seed)


if __name__ == "__main__":
    main()
