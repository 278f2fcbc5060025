"""Agen BRILink, one module per job.

- ``wire``: BRI's messages (intake's names, BRI's aliases), response codes, field names;
- ``signing``: BRI's signature scheme (the hub checks it, tests and tools sign with it);
- ``settlement``: BRI's daily settlement report, for reconciliation;
- ``adapter``: the operations, wiring the above to intake.
"""

from adapters.brilink.adapter import ADAPTER

__all__ = ["ADAPTER"]
