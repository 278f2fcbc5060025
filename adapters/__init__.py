"""Channel adapters: one module per partner channel.

Channels: pos, brilink, bni46, indomaret, alfamart, bank (SNAP BI).

An adapter knows its partner's wire format, authentication and response codes; it
translates to and from the canonical schemas and calls the hub's intake service.
It never touches Kafka or the store itself.
"""
