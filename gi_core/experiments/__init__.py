"""One module per chapter (or appendix page): its configuration, the runs it shows (``PLANS``), the functions that run
them and build its tables, and a command line (``python -m gi_core.experiments.<name>``) that reproduces every
number the page shows."""
