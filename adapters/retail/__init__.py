"""The retail chains, Indomaret and Alfamart: one counter flow, each chain in its own words.

- ``counter``: the counter's flow over intake (inquiry, payment, advice, reversal,
  status), with every refusal in the chain's field names;
- ``adapter``: the store host's six operations over HTTP, written once in the hub's
  vocabulary (``RetailAdapter``);
- ``indomaret``, ``alfamart``: each chain's wire models, field names, code table and
  signature scheme, and its daily settlement file (``<chain>_settlement``).

The loader finds each chain by its slug here (``adapters/retail/<slug>``).
"""
