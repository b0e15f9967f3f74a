"""Sum a test timeline (REVOPS_TEST_TIMELINE, see conftest.py) per file and per worker:
which files hold the suite's wall time, and how long each worker sat idle at the end.

    python tests/timeline.py /tmp/timeline.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def main(path: str) -> None:
    with open(path, encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    if not rows:
        print(f"{path}: no tests recorded")
        return
    begin = min(r["start"] for r in rows)
    end = max(r["end"] for r in rows)
    per_file: dict[tuple[str, str], float] = defaultdict(float)
    workers: dict[str, list[float]] = defaultdict(lambda: [float("inf"), 0.0, 0.0])
    for r in rows:
        seconds = r["end"] - r["start"]
        per_file[(r["test"].split("::")[0], r["worker"])] += seconds
        span = workers[r["worker"]]
        span[0], span[1], span[2] = min(span[0], r["start"]), max(span[1], r["end"]), span[2] + seconds
    print(f"wall {end - begin:,.0f} s, {len(rows)} tests")
    for worker, (first, last, busy) in sorted(workers.items()):
        print(
            f"  {worker}: busy {busy:,.0f} s, from +{first - begin:,.0f} s to +{last - begin:,.0f} s "
            f"(idle {end - last:,.0f} s at the end)"
        )
    for (file, worker), seconds in sorted(per_file.items(), key=lambda kv: -kv[1])[:30]:
        print(f"  {seconds:8,.0f} s  {worker:5}  {file}")


if __name__ == "__main__":
    main(sys.argv[1])
