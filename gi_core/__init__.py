"""gi_core: the tested implementations behind gi-book.

Each objective or estimator lives in a small module named after what it is
(``distributions``, ``likelihoods``, ``objectives``, ...) and its docstring names
the seed equation it implements. Notebooks import from here and never
re-implement a loss.
"""

__version__ = "0.1.0"
