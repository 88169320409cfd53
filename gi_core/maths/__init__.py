"""Formulas on tensors, without parameters, named by the mathematical object: every objective, estimator and identity
that a chapter derives (each docstring names the equation it implements)."""
