"""Built-in plugin: alternating least squares (numba-compiled, batched half-steps)."""
