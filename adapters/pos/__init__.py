"""Kantor Pos / Agen Pos, one module per job.

- ``wire``: paths, JSON bodies, ``kodeRespon`` codes, field names;
- ``signing``: the agent's HMAC signature (the hub checks it, clients make it);
- ``csv_rows``: an agent's registration file read as a stream of rows;
- ``upload``: the rows submitted with bounded concurrency, the answer spooled;
- ``client``: ``hub upload pos FILE``, the agent's side of an upload;
- ``settlement``: the post office's daily report, for reconciliation;
- ``adapter``: the routes, wiring the above to intake.
"""

from adapters.pos.adapter import ADAPTER

__all__ = ["ADAPTER"]
