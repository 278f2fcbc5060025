"""The hub's own partner API (FastAPI), for partners without a legacy protocol."""
