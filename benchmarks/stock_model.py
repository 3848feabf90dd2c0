"""ColorMLP(4, 16)'s shape in stock `torch.nn` layers, for `bench_ensemble.py --stock-layers`: not stack-aware,
so seeds trained together run it through `torch.func.functional_call` under `torch.vmap`."""

from torch import nn


class StockMLP(nn.Module):
    """RGB -> Linear -> [LayerNorm] -> GELU -> Linear -> latent -> Linear -> GELU -> Linear -> Sigmoid."""

    def __init__(self, bottleneck: int = 4, hidden: int = 16, layer_norm: bool = False):
        super().__init__()
        norm = [nn.LayerNorm(hidden)] if layer_norm else []
        self.encoder = nn.Sequential(nn.Linear(3, hidden), *norm, nn.GELU(), nn.Linear(hidden, bottleneck))
        self.latent = nn.Identity()
        self.decoder = nn.Sequential(nn.Linear(bottleneck, hidden), nn.GELU(), nn.Linear(hidden, 3), nn.Sigmoid())

    def forward(self, rgb):
        return self.decoder(self.latent(self.encoder(rgb)))
