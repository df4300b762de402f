"""Check a sandbox request log against the published operations and print the coverage table.

    SANDBOX_REQUEST_LOG=/tmp/requests.jsonl .venv/bin/pytest tests/service -q
    .venv/bin/python -m tools.spec_report /tmp/requests.jsonl

Every request netkeep sent (its SDK caller in the User-Agent), direct or as a batch action, is
checked against the operation the installed ``meraki`` SDK documents (``sandbox/spec``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sandbox.engine import base_router
from sandbox.spec.known import NETKEEP_KNOWN_BATCH_MISMATCHES, NETKEEP_KNOWN_BODY_MISMATCHES
from sandbox.spec.referee import referee
from sandbox.spec.sdk import catalog


def main(argv: list[str]) -> int:
    """Print the table and every mismatch; exit 1 when one is not on the known lists."""
    if len(argv) != 1:
        print(__doc__)
        return 2
    lines = Path(argv[0]).read_text(encoding="utf-8").splitlines()
    found = referee((json.loads(line) for line in lines if line.strip()), catalog(), base_router())
    print(found.table())
    new = 0
    for key, message in sorted(found.body_mismatches.items()):
        known = key in NETKEEP_KNOWN_BODY_MISMATCHES
        new += not known
        print(f"{'known' if known else 'NEW  '} body   {key[0]} {key[1]}: {message}")
    for pair, message in sorted(found.batch_mismatches.items()):
        known = pair in NETKEEP_KNOWN_BATCH_MISMATCHES
        new += not known
        print(f"{'known' if known else 'NEW  '} batch  {pair}: {message}")
    for (method, template), count in sorted(found.not_in_spec.items()):
        print(f"not in the specification: {method} {template} ({count} requests)")
    return 1 if new else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
