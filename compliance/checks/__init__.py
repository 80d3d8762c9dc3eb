"""The checks that `pytest compliance/` collects. One module per link of the chain."""
