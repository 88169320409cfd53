"""Data: image datasets as tensors (quick subsets and full datasets), transforms, toy data and the digit domains."""
