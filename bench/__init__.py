"""The pipeline benchmark: `make bench` (tiers S and M) or `python -m bench.run_bench --tiers L`."""
