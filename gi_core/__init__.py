"""gi_core: the tested implementations behind gi-book.

The package is layered; a module imports only from its own floor or the floors below it (``ARCHITECTURE.md``):

* infrastructure, usable from every floor: :mod:`~gi_core.validation`, :mod:`~gi_core.runtime`,
  :mod:`~gi_core.batching`, :mod:`~gi_core.results`, :mod:`~gi_core.trainer`, :mod:`~gi_core.runs`;
* :mod:`gi_core.data` (datasets and transforms), :mod:`gi_core.maths` (formulas, named by the mathematical
  object), :mod:`gi_core.nets` (networks), :mod:`gi_core.models` (one model per file),
  :mod:`gi_core.metrics` (scores of trained models) and :mod:`gi_core.experiments` (one per chapter).

Each objective or estimator's docstring names the seed equation it implements. Notebooks import from here and
never re-implement a loss.
"""

__version__ = "0.1.0"
