"""The first-hour frictions of issue 26 on the command line: unquoted specs, the names other
libraries' users type (svd, ml-100k, a MovieLens folder), tabular's label= (was name=)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli

from workbench.cli.specargs import unquoted_spec_hint


def test_unquoted_specs_get_one_line_with_the_quoted_command(capsys) -> None:
    code, out, err = cli(
        capsys, "compare", "--data", "movielens", "path=ml-100k", "-m", "sgd", "n_factors=20",
        "--metric", "rmse",
    )  # fmt: skip
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "error: a spec with parameters is one argument; quote it: workbench compare "
        '--data "movielens path=ml-100k" -m "sgd n_factors=20" --metric rmse'
    ]
    assert "Got unexpected extra" not in err


def test_unquoted_model_spec_of_train_and_quoting_that_needs_care() -> None:
    assert unquoted_spec_hint(["train", "sgd", "n_factors=20", "-o", "m.npz"]) == (
        'workbench train "sgd n_factors=20" -o m.npz'
    )
    assert unquoted_spec_hint(["-v", "tune", "sgd", "n_epochs=5", "-p", "lr=0.01,0.02"]) == (
        'workbench -v tune "sgd n_epochs=5" -p lr=0.01,0.02'
    )
    hint = unquoted_spec_hint(["compare", "-d", "tabular", "path=my file.csv"])
    assert hint == "workbench compare -d \"tabular 'path=my file.csv'\""


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "--data", "movielens path=ml-100k", "-m", "sgd n_factors=20"],
        ["data", "info", "movielens", "path=ml-100k"],  # options of data info: unquoted is fine
        ["tune", "sgd n_epochs=30", "-p", "lr=0.002:0.05:log", "-p", "reg=0.005:0.2:log"],
        ["recommend", "m.npz", "--user", "196", "-k", "10"],
    ],
)
def test_quoted_or_valid_commands_are_left_alone(args: list[str]) -> None:
    assert unquoted_spec_hint(args) is None


def test_svd_is_sgd() -> None:
    import workbench as wb

    model = wb.make_model("svd n_factors=7")
    assert type(model).__name__ == type(wb.make_model("sgd")).__name__
    assert model.get_params()["n_factors"] == 7


def test_movielens_words_and_folders_get_a_did_you_mean(tmp_path: Path) -> None:
    import workbench as wb
    from workbench.errors import UnknownNameError

    # another tool's spelling of a release: the catalogue's word for it
    with pytest.raises(UnknownNameError, match=r'did you mean "ml-1m" \(fetched and cached\)'):
        wb.load_dataset("ml_1m")
    with pytest.raises(UnknownNameError, match=r'did you mean "ml-100k"'):
        wb.load_dataset("movielens-100K")
    # a MovieLens folder given as a path reads as MovieLens
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("1\t1\t5\t0\n2\t1\t3\t0\n")
    data = wb.load_dataset(str(folder))
    assert (data.n_users, data.n_items, len(data)) == (2, 1, 2)


def test_tabular_label_and_the_old_name_option(tmp_path: Path) -> None:
    import workbench as wb
    from workbench.errors import WorkbenchWarning

    path = tmp_path / "r.csv"
    path.write_text("1,1,5\n1,2,3\n2,1,4\n")
    assert wb.load_dataset(f"tabular path={path} label=ml-1m-subset").name == "ml-1m-subset"
    with pytest.warns(WorkbenchWarning, match="name= is deprecated: use label="):
        data = wb.load_dataset(f"tabular path={path} name=ml-1m-subset")
    assert data.name == "ml-1m-subset"
    with pytest.warns(WorkbenchWarning, match="use label="):
        data = wb.load_dataset({"name": "tabular", "path": str(path)}, name="old")
    assert data.name == "old"
