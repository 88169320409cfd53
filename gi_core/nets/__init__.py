"""Networks: ``nn.Module`` s with parameters and no loss (encoders, decoders, discriminators, priors, the reversal
layer), shared by the models."""
