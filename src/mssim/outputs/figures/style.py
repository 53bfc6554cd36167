"""Colours of the figures: the palette, arm colours and contrast colours.

An arm named after an intervention kind takes the kind's colour from the
registry (:data:`mssim.registry.INTERVENTIONS`), so an arm has the same colour
in every figure and a plug-in kind brings its own. Arms with other names take
colours by name: greys when the name says control, usual care or wait, else
the Okabe–Ito colours no kind uses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from mssim.registry import INTERVENTIONS

#: The Okabe–Ito palette (Okabe & Ito 2008), safe for the common colour-vision deficiencies.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Opacity of the shaded interval bands.
BAND_ALPHA = 0.18

# Arms that are not kinds: needled ones take these colours (those no kind has) in
# alphabetical order of their names; controls take these greys.
_NEEDLED_CYCLE = tuple(
    OKABE_ITO[name]
    for name in (
        "blue",
        "orange",
        "bluish_green",
        "reddish_purple",
        "sky_blue",
        "vermillion",
        "black",
        "yellow",
    )
)
_SPARE_GREYS = ("#787878", "#C0C0C0", "#303030")
_CONTROL_HINTS = ("usual", "wait", "control", "no_treatment", "untreated")


def _normalise_arm(arm: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(arm).strip().lower())


def _is_control(arm: str) -> bool:
    """Not needled: a kind's own flag, else what the arm's name says."""
    key = _normalise_arm(arm)
    if key in INTERVENTIONS:
        return not INTERVENTIONS.get(key).needled
    return any(hint in key for hint in _CONTROL_HINTS)


def ordered_arms(arms: Iterable[str]) -> list[str]:
    """Needled arms first, controls last; kinds in registry order, then other names alphabetically.

    Args:
        arms: Arm names; duplicates are ignored.

    Returns:
        The distinct arm names in drawing order.
    """
    unique = list(dict.fromkeys(str(a) for a in arms))
    kinds = INTERVENTIONS.names()

    def key(arm: str) -> tuple[bool, int, str]:
        norm = _normalise_arm(arm)
        rank = kinds.index(norm) if norm in kinds else len(kinds)
        return (_is_control(arm), rank, norm)

    return sorted(unique, key=key)


def arm_colors(arms: Sequence[str]) -> dict[str, str]:
    """Map trial arms to colours that stay the same across figures.

    An arm named after an intervention kind (``acupuncture``, ``sham``,
    ``bee_venom``, ``usual_care``, ``waitlist`` or a plug-in's kind) has the
    kind's colour whatever else is passed. Other arms whose name says control,
    usual or wait get spare greys; other needled arms take the Okabe–Ito colours
    that no kind uses, in alphabetical order, so pass the full list of arms of a
    study to keep those consistent between figures.

    Args:
        arms: Arm names, in any order; duplicates are ignored.

    Returns:
        A dict from arm name to hex colour, ordered needled arms first, controls last.
    """
    taken = {kind.colour for kind in INTERVENTIONS}
    spare_needled = [c for c in _NEEDLED_CYCLE if c not in taken]
    spare_greys = [c for c in _SPARE_GREYS if c not in taken]
    colours: dict[str, str] = {}
    for arm in ordered_arms(arms):
        norm = _normalise_arm(arm)
        if norm in INTERVENTIONS:
            colours[arm] = INTERVENTIONS.get(norm).colour
        elif _is_control(arm):
            colours[arm] = spare_greys.pop(0) if spare_greys else "#888888"
        else:
            colours[arm] = spare_needled.pop(0) if spare_needled else "#000000"
    return colours


def _contrast_arms(contrast: str) -> tuple[str, str] | None:
    """Split ``"acupuncture - sham"`` (or ``vs``/``−``) into its two arm names."""
    parts = re.split(r"\s+(?:-|−|–|vs\.?|versus)\s+", str(contrast).strip())
    return (parts[0], parts[1]) if len(parts) == 2 else None


def contrast_colors(contrasts: Sequence[str]) -> dict[str, str]:
    """Colour contrasts by the arm that distinguishes them, using the arm palette.

    Contrasts sharing the treatment arm (``acupuncture - sham``, ``acupuncture -
    usual_care``) take the comparator's colour; contrasts sharing the comparator take the
    treatment's colour; anything else falls back to the palette in order.
    """
    contrasts = list(dict.fromkeys(str(c) for c in contrasts))
    pairs = [_contrast_arms(c) for c in contrasts]
    if all(p is not None for p in pairs):
        arms_of = [p for p in pairs if p is not None]
        for index in (1, 0):
            chosen = [p[index] for p in arms_of]
            if len(set(chosen)) == len(chosen):
                palette = arm_colors([a for p in arms_of for a in p])
                return {c: palette[a] for c, a in zip(contrasts, chosen, strict=True)}
    return {c: _NEEDLED_CYCLE[i % len(_NEEDLED_CYCLE)] for i, c in enumerate(contrasts)}
