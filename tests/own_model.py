"""A researcher's own model in stock torch.nn layers (the example of docs/your-own-model.md), for tests."""

OWN_MODEL = '''
from torch import nn


class MyAutoencoder(nn.Module):
    """RGB -> `dims` -> RGB in stock layers; the latent passes through `self.latent`."""

    def __init__(self, dims: int = 4, width: int = 16):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(3, width), nn.LayerNorm(width), nn.GELU(), nn.Linear(width, dims))
        self.latent = nn.Identity()
        self.decoder = nn.Sequential(nn.Linear(dims, width), nn.GELU(), nn.Linear(width, 3), nn.Sigmoid())

    def forward(self, rgb):
        return self.decoder(self.latent(self.encoder(rgb)))
'''

# `~model` drops the shipped model's keys; the own model's keys follow.
MODEL = ["~model", "+model._target_=my_model.MyAutoencoder", "+model.width=8"]
