"""Regenerate ``workbench_example/data/{ratings,items}.csv`` (the ``boardgames`` dataset).

A small, made-up board-game club: 60 members rate 40 games (1..5 stars). Each member likes
some genres more than others; a game's rating is its quality plus the member's taste for
its genres plus noise, so neighbourhood and factor models both find structure. Deterministic
(seed 2024); run from this folder: ``python make_boardgames.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

GENRES = ["strategy", "party", "cooperative", "family", "abstract"]
WORDS_A = ["Harbour", "Copper", "Silent", "Crimson", "Paper", "Iron", "Lantern", "Orchard"]
WORDS_B = ["Lights", "Empire", "Forest", "Tides", "Heist", "Garden", "Express", "Riddle"]


def main() -> None:
    rng = np.random.default_rng(2024)
    n_users, n_items = 60, 40
    titles = [f"{WORDS_A[i % 8]} {WORDS_B[(i * 3 + i // 8) % 8]}" for i in range(n_items)]
    genres = [
        sorted(set(rng.choice(GENRES, size=rng.integers(1, 3), replace=False)))
        for _ in range(n_items)
    ]
    quality = rng.normal(0, 0.5, n_items)
    taste = rng.normal(0, 0.9, (n_users, len(GENRES)))
    leniency = rng.normal(0, 0.3, n_users)
    rows = []
    for u in range(n_users):
        rated = rng.choice(n_items, size=rng.integers(8, 25), replace=False)
        for i in sorted(rated):
            affinity = np.mean([taste[u, GENRES.index(g)] for g in genres[i]])
            score = 3.3 + quality[i] + leniency[u] + affinity + rng.normal(0, 0.4)
            stars = int(np.clip(np.rint(score), 1, 5))
            when = 1_700_000_000 + int(rng.integers(0, 365 * 86_400))
            rows.append((f"u{u + 1:02d}", 101 + i, stars, when))
    out = Path(__file__).resolve().parents[1] / "workbench_example" / "data"
    ratings = pd.DataFrame(rows, columns=["user", "item", "rating", "timestamp"])
    ratings.sort_values(["timestamp", "user"]).to_csv(out / "ratings.csv", index=False)
    items = pd.DataFrame(
        {"item": 101 + np.arange(n_items), "title": titles, "genres": ["|".join(g) for g in genres]}
    )
    items.to_csv(out / "items.csv", index=False)


if __name__ == "__main__":
    main()
