"""What a user should be told about data loaded for a run: merged duplicates and an
inferred rating scale (printed by the CLI, recorded in run metadata)."""

from __future__ import annotations

from typing import Any

from workbench.data import Interactions

#: Rating scales datasets commonly use; an inferred scale inside none of them is suspicious
#: (a dataset plugin may give its own in ``meta["expected_rating_scale"]``).
USUAL_SCALES: tuple[tuple[float, float], ...] = (
    (1.0, 5.0),
    (0.5, 5.0),
    (0.0, 5.0),
    (1.0, 7.0),
    (1.0, 10.0),
    (0.5, 10.0),
    (0.0, 10.0),
    (0.0, 1.0),
    (-1.0, 1.0),
    (-10.0, 10.0),
    (0.0, 100.0),
    (1.0, 100.0),
)


def _within(scale: tuple[float, float], outer: tuple[float, float]) -> bool:
    return outer[0] <= scale[0] and scale[1] <= outer[1]


def _fmt(scale: Any) -> str:
    return f"{float(scale[0]):g}..{float(scale[1]):g}"


def data_facts(data: Interactions) -> dict[str, Any]:
    """Duplicates merged (count, policy, first repeat) and whether the scale was inferred."""
    meta = data.meta
    return {
        "duplicates_merged": int(meta.get("duplicates_merged", 0) or 0),
        "duplicate_policy": meta.get("duplicate_policy"),
        "first_duplicate": meta.get("first_duplicate"),
        "rating_scale_inferred": bool(meta.get("rating_scale_inferred", False)),
        "preparation": list(data.provenance.preparation or []) or None,
    }


def data_notes(data: Interactions) -> list[tuple[str, str]]:
    """``(level, message)`` pairs, level ``note`` or ``warning``, about ``data``."""
    notes: list[tuple[str, str]] = []
    facts = data_facts(data)
    merged = facts["duplicates_merged"]
    if merged:
        first = facts["first_duplicate"] or {}
        where = ""
        if first:
            place = f"line {first['line']}" if "line" in first else f"row {first['row'] + 1}"
            where = f"; first repeat: {place} (user {first['user']}, item {first['item']})"
        notes.append(
            (
                "note",
                f"{data.name}: merged {merged:,} repeated (user, item) rows "
                f"(duplicates={facts['duplicate_policy']}){where}",
            )
        )
    if facts["rating_scale_inferred"] and data.rating_scale is not None:
        scale = data.rating_scale
        expected = data.meta.get("expected_rating_scale")
        declare = "declare it with rating_scale=LOW-HIGH to have other values reported"
        if expected is not None and not _within(scale, tuple(expected)):  # type: ignore[arg-type]
            notes.append(
                (
                    "warning",
                    f"{data.name}: the rating scale inferred from the data, {_fmt(scale)}, "
                    f"is not the scale {_fmt(expected)} this dataset expects; {declare}",
                )
            )
        elif expected is None and not any(_within(scale, usual) for usual in USUAL_SCALES):
            notes.append(
                (
                    "warning",
                    f"{data.name}: the rating scale inferred from the data, {_fmt(scale)}, is "
                    "not a usual one (such as 1..5, 0.5..5 or 1..10): an out-of-range value "
                    f"moves the relevance threshold and clipping; {declare}",
                )
            )
        else:
            notes.append(
                ("note", f"{data.name}: rating scale inferred from the data: {_fmt(scale)}")
            )
    return notes
