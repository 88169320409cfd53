"""Numbers computed from trained models: latent, generation, representation, domain and translation metrics."""
