"""Benchmarks: the app side by side with a bare floor app doing the same SQL (`python -m bench`)."""
