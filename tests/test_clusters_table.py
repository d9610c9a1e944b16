"""``workbench clusters``: one row per component (not one per top item), and a reason for each
empty component (known answers on a hand-made W and H)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
from cli_helpers import cli
from workbench_nmf.clusters import clusters_of

from workbench.data import IdMap

W = np.array(
    [[3.0, 1.0, 0.0], [2.0, 0.5, 0.0], [0.1, 0.0, 0.0], [0.0, 0.0, 0.0]]
)  # component 0 wins every row; 1 is second for two users; 2 is all zero; user 3 is cold
H = np.array([[5.0, 1.0, 0.0, 2.0], [0.0, 4.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]])


def fake_model():
    return SimpleNamespace(
        user_factors_=W, item_factors_=H.T, users_=IdMap(np.array([10, 11, 12, 13])),
        items_=IdMap(np.array(["a", "b", "c", "d"])),
        item_titles_=np.array(["Alien", "", "Casablanca", "Dune"], dtype=object),
    )  # fmt: skip


def test_one_row_per_component_with_its_top_items():
    result = clusters_of(fake_model(), top_n=2)
    table = result.table()
    assert table.to_dict("records") == [
        {"component": 0, "users": 3, "top items": "Alien; Dune"},
        {"component": 1, "users": 0, "top items": "b; Casablanca"},  # no title: the item id
        {"component": 2, "users": 0, "top items": "Alien; b"},
    ]


def test_why_a_component_is_empty():
    empty = clusters_of(fake_model(), top_n=2).empty
    assert set(empty) == {1, 2}
    assert empty[1].startswith("it is no user's largest weight: 2 users have some of it")
    assert "at most 25% of a user's total" in empty[1]  # user 0: 1 / (3 + 1)
    assert "weight on it is 0" in empty[2]


def test_cli_prints_the_compact_table(tmp_path, capsys):
    out = tmp_path / "nmf.npz"
    code, _, err = cli(capsys, "train", "nmf", "-d", "synthetic n_users=60 n_items=40 "
                       "n_interactions=900", "-p", "n_components=12", "-o", out, "-q")  # fmt: skip
    assert code == 0, err
    code, text, err = cli(capsys, "clusters", out, "--top", "3")
    assert code == 0, err
    rows = [line for line in text.splitlines() if line.startswith("│")]
    assert len(rows) == 12  # one per component
    code, text, _ = cli(capsys, "clusters", out, "--json")
    payload = json.loads(text)
    sizes = {c["component"]: c["size"] for c in payload["components"]}
    empty = {int(c) for c in payload["empty_components"]}
    assert empty == {c for c, n in sizes.items() if n == 0}
    for comp in empty:
        code, text, _ = cli(capsys, "clusters", out, "-c", comp)
        assert f"component {comp} has no users:" in " ".join(text.split())
