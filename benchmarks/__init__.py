"""Side-by-side measurements of the training engine (``python -m benchmarks.run``)."""
