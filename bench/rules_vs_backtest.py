"""The closing figures of the rule export: exported rules on a real Prometheus vs the backtest.

    python bench/rules_vs_backtest.py [--phased]

On the Alibaba GenAI serving trace (../shared/realdata, scraped every minute; see
tests/rule_backtest.py): per recording rule the largest |Prometheus - sloview| error ratio
over the same window, and per alert (each row and each severity) the firings matched and
their start offsets. `--phased` also lets `promtool tsdb create-blocks-from rules` schedule
the recordings as Prometheus does (each group at its own phase within the minute) and reports
what that phase changes. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.rule_backtest import compare, compare_phased  # noqa: E402

REALDATA = HERE.parent.parent / "shared" / "realdata"


def main() -> None:
    """Run the comparison and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phased", action="store_true", help="also the promtool-scheduled run")
    parser.add_argument("--realdata", type=Path, default=REALDATA)
    args = parser.parse_args()
    tick = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sloview-rules-", dir="/tmp") as folder:
        result = compare(args.realdata, Path(folder)).to_dict()
    if args.phased:
        with tempfile.TemporaryDirectory(prefix="sloview-rules-", dir="/tmp") as folder:
            result["phased"] = compare_phased(args.realdata, Path(folder))
    result["total_s"] = time.monotonic() - tick
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
