"""ex-color: concept anchoring and intervention experiments on a tiny colour autoencoder."""

__version__ = "0.1.0"
