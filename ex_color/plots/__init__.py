"""Figures for the experiments.

Every ``plot_*`` function takes numpy arrays (never models or files), draws on a detached
``matplotlib.figure.Figure`` (no pyplot state; safe under Agg) and returns ``(figure, alt_text)``.
Pass ``theme='dark'`` for the dark theme. :func:`save_figure` writes the PNG and its alt text.
"""

from .colors import color_grid_image, plot_color_grid
from .error import plot_error_series
from .intervention import lobe_from_curve, plot_intervention_curve
from .io import save_figure
from .latents import Cone, cone_rim, draw_latent_view, plot_latent_views
from .rgb_cube import plot_rgb_cube
from .schedule import plot_schedule
from .seeds import plot_seed_boxes
from .similarity import plot_error_similarity
from .stacked import plot_stacked, stacked_value_rows
from .theme import Theme, get_theme
from .training import plot_training

__all__ = [
    "Cone",
    "Theme",
    "color_grid_image",
    "cone_rim",
    "draw_latent_view",
    "get_theme",
    "lobe_from_curve",
    "plot_color_grid",
    "plot_error_series",
    "plot_error_similarity",
    "plot_intervention_curve",
    "plot_latent_views",
    "plot_rgb_cube",
    "plot_schedule",
    "plot_seed_boxes",
    "plot_stacked",
    "plot_training",
    "save_figure",
    "stacked_value_rows",
]
