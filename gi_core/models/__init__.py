"""Models, one per module: each has a ``training_loss`` and ``parameters_by_loss`` (:class:`gi_core.trainer.TrainableModel`)
and a builder. A model never imports another model."""
