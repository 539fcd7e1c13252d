"""Run the benchmark: `python benchmarks/run.py [--out benchmarks/results/NAME.json]` (same as `python -m tgdfer bench`)."""
import sys

from tgdfer.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
