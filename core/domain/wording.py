"""Words for people: counts ("1 GPU", "2 GPUs"), and refusals in a page's own words for the one reading them."""
from __future__ import annotations

import re


def counted(number: float, noun: str) -> str:
    """`number` and `noun`, plural unless the number is one; whole floats lose their ".0" (Ray counts CPUs
    as floats)."""
    return f"{number:g} {noun}{'' if number == 1 else 's'}"


def in_page_words(text: str, labels: dict[str, str]) -> str:
    """A refusal as a page words it: its leading field name ("batch_size: …") replaced by the field's label
    there ("Batch size: …"); a text naming no labelled field is left as it is."""
    field, sep, rest = text.partition(": ")
    return f"{labels[field]}: {rest}" if sep and field in labels else text


_SETTING = re.compile(r"TRAINLAB_[A-Z0-9_]+")


def without_setting_names(text: str) -> str:
    """`text` for a reader who cannot change the server's settings (a student): "(TRAINLAB_MAX_PARAMS)" and
    ", TRAINLAB_MAX_EPOCHS" left out, any other setting's name said in words."""
    text = re.sub(r" \(TRAINLAB_[A-Z0-9_]+\)", "", text)
    text = re.sub(r", TRAINLAB_[A-Z0-9_]+", "", text)
    return _SETTING.sub("a setting of the server", text)


def share(value: float, digits: int = 2) -> str:
    """0.985 -> '98.50 %' (`digits` after the point): the one way every page writes a share."""
    return f"{100 * value:.{digits}f} %"
