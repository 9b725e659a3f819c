"""One module per ATS, each holding its webhook adapter (verify, normalise) and its API
client; `registry.py` maps a provider's name to both. The sandbox (demo data in our own
database) is `sandbox.py`."""
