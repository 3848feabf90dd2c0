"""Which latent views a figure shows: from `eval`, checked against the trained width, fitted or mapped
through a prune (a removed dim projected)."""

from __future__ import annotations

from collections.abc import Iterable

from ex_color.errors import UserError


def latent_widths(result) -> tuple[int, int]:
    """(the trained model's latent width, the width under the intervention: narrower after a prune)."""
    return int(result.baseline.rgb.latents.shape[1]), int(result.intervened.rgb.latents.shape[1])


def removed_dims(result) -> tuple[int, ...]:
    """The latent dims an intervention removed (a prune's `dims`), or () when the latent kept its width."""
    full, width = latent_widths(result)
    if width >= full:
        return ()
    dims = sorted({d % full for d in getattr(result.intervention, "dims", None) or ()})
    return tuple(dims) if len(dims) == full - width else tuple(range(width, full))


def check_views(settings, width: int, figures: Iterable[str] = ("stacked", "latents", "latents-grid")) -> None:
    """Refuse, in one line naming its `eval` key, a view naming a dim outside a latent of `width` dims (views
    left at the shipped defaults are fitted instead, see `figure_views`)."""
    for figure in figures:
        key, views = settings.views(figure)
        if key in settings.default_views:
            continue
        for view in views:
            outside = [d for d in view if d is not None and d >= width]
            if outside:
                shown = "[" + ", ".join("null" if d is None else str(d) for d in view) + "]"
                raise UserError(
                    f"eval.{key}: view {shown} names dim {outside[0]}, but the latent has {width} dims "
                    f"(0–{width - 1}; null projects an axis to 0)"
                )


def fitted_views(views, width: int) -> list[tuple[int | None, ...]]:
    """Views for a latent of `width` dims: each dim past the width is replaced by the lowest dim the view
    lacks, or projected (None) when there is none; views left without a dim are dropped."""
    out = []
    for view in views:
        spare = [d for d in range(width) if d not in view]
        fitted = tuple(d if d is None or d < width else (spare.pop(0) if spare else None) for d in view)
        if any(d is not None for d in fitted) and fitted not in out:
            out.append(fitted)
    return out


def pruned_views(views, width: int, removed: Iterable[int]) -> list[tuple[int | None, ...]]:
    """Views of a `width`-dim latent mapped through a prune of dims `removed`: a kept dim takes its place
    in the narrower latent, a removed one becomes None (projected to 0); views left without a dim are dropped."""
    kept = [d for d in range(width) if d not in set(removed)]
    out = []
    for view in views:
        mapped = tuple(kept.index(d) if d is not None and d in kept else None for d in view)
        if any(d is not None for d in mapped) and mapped not in out:
            out.append(mapped)
    return out


def figure_views(settings, figure: str, result) -> list[tuple[int | None, ...]]:
    """The latent views of `figure` (stacked, latents, latents-grid) for a result, from `eval`. Views left at
    the shipped defaults are fitted to the latent as drawn (`fitted_views`: a pruned model's narrower latent
    is shown whole, in its own numbering). Views set in config name dims of the trained latent: checked
    against its width (`check_views`), then, for a pruned model, mapped through the prune (`pruned_views`:
    a removed dim becomes a projected axis), so such a view shows the same dims before and after."""
    full, width = latent_widths(result)
    key, views = settings.views(figure)
    if key in settings.default_views:
        views = fitted_views(views, width)
    else:
        check_views(settings, full, (figure,))
        removed = removed_dims(result)
        views = pruned_views(views, full, removed) if removed else list(views)
    if not views:  # every view lost its dims: the first dims left
        views = [tuple(d if d < width else None for d in range(3))]
    return views
