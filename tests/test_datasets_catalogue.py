"""The public-dataset catalogue: every reader on a fixture in its real layout, served by a
local HTTP server (mirror, redirect, 404, interrupted transfer, offline, checksums pinned
and first-seen), the ``--data`` word forms, preparation and the converted cache."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import http.server
import io
import json
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_helpers import cli
from workbench_datasets import fetch as dl
from workbench_datasets.catalogue import TOFU, catalogue
from workbench_datasets.prepare import Preparation, kcore_mask, prepare
from workbench_datasets.sources import MIRROR_ENV

from workbench.errors import DataError, UnknownNameError
from workbench.experiments.loading import dataset_spec, load_dataset

# -- fixtures in each real layout -----------------------------------------------------------
# (user, item, value) rows each fixture holds, as the reader should return them.
RATINGS = [("1", "10", 4.0), ("1", "20", 3.0), ("2", "10", 5.0), ("3", "30", 1.0)]


def _zip(files: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _targz(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _gz(text: str) -> bytes:
    return gzip.compress(text.encode())


def _movielens(key: str) -> dict[str, bytes]:
    from workbench_datasets.movielens import VARIANTS

    v = VARIANTS[key]
    folder = "ml-10M100K" if key == "10m" else v.folder
    rows = [(u, i, r / 2 if key not in ("100k", "1m") else r) for u, i, r in RATINGS]
    lines = [v.sep.join([u, i, f"{r:g}", "964982703"]) for u, i, r in rows]
    if v.header:
        lines.insert(0, "userId,movieId,rating,timestamp")
    return {v.archive: _zip({f"{folder}/{v.ratings}": "\n".join(lines) + "\n"})}


def _json_lines(objs: list[dict], literal: bool = False) -> str:
    return "".join((repr(o) if literal else json.dumps(o)) + "\n" for o in objs)


def fixture(name: str) -> tuple[dict[str, bytes], list[tuple[str, str, float]]]:
    """(file name -> bytes, the expected rows) of entry ``name``, in its real layout."""
    explicit = [(u, i, r) for u, i, r in RATINGS]
    ones = sorted({(u, i, 1.0) for u, i, _ in RATINGS})
    if name.startswith("ml-") and name != "ml-tag-genome":
        key = name[3:]
        expected = [(u, i, r / 2 if key not in ("100k", "1m") else r) for u, i, r in RATINGS]
        return _movielens(key), expected
    if name == "lastfm-2k":
        body = "userID\tartistID\tweight\r\n" + "".join(
            f"{u}\t{i}\t{int(r * 10)}\r\n" for u, i, r in RATINGS
        )
        return {"hetrec2011-lastfm-2k.zip": _zip({"user_artists.dat": body})}, [
            (u, i, r * 10) for u, i, r in RATINGS
        ]
    if name == "lastfm-1k":  # listening events: one row per play, counted
        rows = "".join(
            f"user_00000{u}\t2009-05-04T23:08:{n:02d}Z\tmbid-{i}\tArtist {i}\t\tTrack {n}\n"
            for n, (u, i, _) in enumerate(RATINGS + RATINGS[:1])
        )
        member = "lastfm-dataset-1K/userid-timestamp-artid-artname-traid-traname.tsv"
        expected = [(f"user_00000{u}", f"Artist {i}", 2.0 if (u, i) == ("1", "10") else 1.0)
                    for u, i, _ in RATINGS]  # fmt: skip
        return {"lastfm-dataset-1K.tar.gz": _targz({member: rows})}, expected
    if name == "lastfm-360k":
        rows = "".join(f"sha{u}\tmbid-{i}\tartist {i}\t{int(r * 100)}\n" for u, i, r in RATINGS)
        member = "lastfm-dataset-360K/usersha1-artmbid-artname-plays.tsv"
        expected = [(f"sha{u}", f"artist {i}", r * 100) for u, i, r in RATINGS]
        return {"lastfm-dataset-360K.tar.gz": _targz({member: rows})}, expected
    if name == "amazon-2018":  # item,user,rating,timestamp; no header
        rows = "".join(f"B0{i},A{u},{r:.1f},1123804800\n" for u, i, r in RATINGS)
        return {"Books.csv": rows.encode()}, [(f"A{u}", f"B0{i}", r) for u, i, r in RATINGS]
    if name == "amazon-2018-5core":
        objs = [{"overall": r, "verified": True, "reviewTime": "08 12, 2005",
                 "reviewerID": f"A{u}", "asin": f"B0{i}", "style": {"Format:": " Hardcover"},
                 "reviewText": "fine", "summary": "ok", "unixReviewTime": 1123804800}
                for u, i, r in RATINGS]  # fmt: skip
        expected = [(f"A{u}", f"B0{i}", r) for u, i, r in RATINGS]
        return {"Books_5.json.gz": _gz(_json_lines(objs))}, expected
    if name == "amazon-2023":
        objs = [{"rating": r, "title": "t", "text": "x", "images": [], "asin": f"B0{i}",
                 "parent_asin": f"P{i}", "user_id": f"AG{u}", "timestamp": 1588687728923,
                 "helpful_vote": 0, "verified_purchase": True} for u, i, r in RATINGS]  # fmt: skip
        return {"Books.jsonl.gz": _gz(_json_lines(objs))}, [
            (f"AG{u}", f"P{i}", r) for u, i, r in RATINGS
        ]
    if name == "amazon-2023-5core":
        rows = "user_id,parent_asin,rating,timestamp\n" + "".join(
            f"AG{u},P{i},{r:.1f},1588687728923\n" for u, i, r in RATINGS
        )
        return {"Books.csv.gz": _gz(rows)}, [(f"AG{u}", f"P{i}", r) for u, i, r in RATINGS]
    if name in ("book-crossing", "book-crossing-implicit"):
        rows = ['"User-ID";"ISBN";"Book-Rating"']
        rows += [f'"{u}";"03454{i}X";"{int(r * 2)}"' for u, i, r in RATINGS]
        rows += ['"276725";"034545104X";"0"', '"2";"3257224281";"0"', '"3";"Müller1";"0"']
        body = ("\r\n".join(rows) + "\r\n").encode("latin-1")
        files = {"BX-CSV-Dump.zip": _zip({"BX-Book-Ratings.csv": body, "BX-Users.csv": "x"})}
        if name == "book-crossing":
            return files, [(u, f"03454{i}X", r * 2) for u, i, r in RATINGS]
        return files, [("2", "3257224281", 1.0), ("276725", "034545104X", 1.0),
                       ("3", "Müller1", 1.0)]  # fmt: skip
    if name == "jester":
        rows = "".join(f"{u}\t\t{i}\t\t{r - 5:.3f}\n" for u, i, r in RATINGS)
        archive = _zip({"jester_ratings.dat": rows, "jester_items.dat": ""})
        return {"jester_dataset_2.zip": archive}, [(u, i, r - 5) for u, i, r in RATINGS]
    if name == "goodreads":
        rows = "user_id,book_id,is_read,rating,is_reviewed\n" + "".join(
            f"{u},{i},1,{int(r)},0\n" for u, i, r in RATINGS
        )
        return {"goodreads_interactions.csv": rows.encode()}, ones
    if name == "steam":
        objs = [{"username": f"gamer {u}", "hours": 0.1, "products": 41, "product_id": i,
                 "page_order": 0, "date": "2017-12-17", "text": "fun", "early_access": False,
                 "page": 1} for u, i, _ in RATINGS]  # fmt: skip
        return {"steam_reviews.json.gz": _gz(_json_lines(objs, literal=True))}, [
            (f"gamer {u}", i, 1.0) for u, i, _ in RATINGS
        ]
    if name == "mind":
        rows = [
            "1\tU1\t11/11/2019 9:05:58 AM\tN55189 N42782\tN10-1 N35729-0",
            "2\tU1\t11/12/2019 1:05:58 PM\tN55189\tN20-1 N10-0",
            "3\tU2\t11/13/2019 9:05:58 AM\t\tN10-1 N30-0",
            "4\tU3\t11/14/2019 9:05:58 AM\tN1\tN30-1",
        ]
        body = "\n".join(rows) + "\n"
        expected = [(f"U{u}", f"N{i}", 1.0) for u, i, _ in RATINGS]
        return {"MINDsmall_train.zip": _zip({"behaviors.tsv": body, "news.tsv": "N10\tx\n"})}, (
            expected
        )
    if name == "epinions":
        rows = "".join(f"{u} {i} {int(r)}\n" for u, i, r in RATINGS)
        return {"ratings_data.txt.bz2": bz2.compress(rows.encode())}, explicit
    if name == "filmtrust":
        rows = "".join(f"{u} {i} {r - 1:.1f}\n" for u, i, r in RATINGS if r > 1)
        return {"filmtrust.zip": _zip({"ratings.txt": rows, "trust.txt": "1 2 1\n"})}, [
            (u, i, r - 1) for u, i, r in RATINGS if r > 1
        ]
    if name == "pinterest":
        train = "".join(f"{u}\t{i}\t1\t0\n" for u, i, _ in RATINGS[:3])
        test = "".join(f"{u}\t{i}\t1\t0\n" for u, i, _ in RATINGS[3:])
        return {"pinterest-20.train.rating": train.encode(),
                "pinterest-20.test.rating": test.encode()}, ones  # fmt: skip
    if name in ("gowalla", "yelp-2018", "amazon-book"):
        return {"train.txt": b"1 10 20\n2 10\n", "test.txt": b"3 30\n"}, ones
    if name == "ml-tag-genome":
        objs = [{"item_id": int(i), "user_id": int(u), "rating": r} for u, i, r in RATINGS]
        member = "movie_dataset_public_final/raw/ratings.json"
        return {"genome_2021.zip": _zip({member: _json_lines(objs)})}, explicit
    if name == "yelp":
        objs = [{"review_id": f"r{n}", "user_id": f"u{u}", "business_id": f"b{i}",
                 "stars": r, "useful": 0, "funny": 0, "cool": 0, "text": "good",
                 "date": "2018-07-07 22:09:11"} for n, (u, i, r) in enumerate(RATINGS)]  # fmt: skip
        return {"yelp_academic_dataset_review.json": _json_lines(objs).encode()}, [
            (f"u{u}", f"b{i}", r) for u, i, r in RATINGS
        ]
    if name == "douban":
        return {"ratings.txt": "".join(f"{u} {i} {int(r)}\n" for u, i, r in RATINGS).encode()}, (
            explicit
        )
    if name == "yahoo-r3":
        train = "".join(f"{u}\t{i}\t{int(r)}\n" for u, i, r in RATINGS[:2])
        test = "".join(f"{u}\t{i}\t{int(r)}\n" for u, i, r in RATINGS[2:])
        return {"ydata-ymusic-rating-study-v1_0-train.txt": train.encode(),
                "ydata-ymusic-rating-study-v1_0-test.txt": test.encode()}, explicit  # fmt: skip
    raise KeyError(name)


def rows_of(data) -> list[tuple[str, str, float]]:
    frame = data.to_pandas()
    return sorted(
        (str(u), str(i), float(v))
        for u, i, v in zip(frame.user, frame.item, frame.value, strict=True)
    )


# -- the server -----------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 - the http.server API
        type(self).requests.append(self.path)
        if self.path.startswith("/redirect/"):
            self.send_response(302)
            self.send_header("Location", "/" + self.path[len("/redirect/") :])
            self.end_headers()
            return
        cut = self.path.startswith("/cut/")
        body = self.files.get(self.path[len("/cut") :] if cut else self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if cut else body)
        if cut:
            self.wfile.flush()
            self.close_connection = True


@pytest.fixture
def server():
    _Handler.files = {}
    _Handler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(dl.CACHE_ENV, str(folder))
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setattr(dl, "RETRIES", 0)
    return folder


def serve(name: str, subset: str | None = None) -> tuple[list, dict[str, str]]:
    """Put entry ``name``'s fixture on the server; (expected rows, checksum options)."""
    entry = catalogue()[name]
    files, expected = fixture(name)
    for fname, body in files.items():
        _Handler.files[f"/{entry.cache_folder}/{fname}"] = body
    options = {}
    first = entry.files[0]
    if first.checksum and subset is None:  # the pinned checksum is the official file's
        options["checksum"] = "sha256:" + hashlib.sha256(files[first.filename()]).hexdigest()
    return expected, options


FETCHED = [e.name for e in catalogue().values() if e.files]
BY_HAND = [e.name for e in catalogue().values() if not e.files and e.name != "netflix-prize"]


def test_the_catalogue_has_the_field_s_datasets():
    entries = catalogue()
    assert len(entries) >= 25
    for e in entries.values():
        assert e.licence and e.citation and e.homepage.startswith("http")
        assert e.kind in ("explicit", "implicit")
        assert e.files or e.obtain, e.name  # fetched, or says how to obtain it by hand
        for r in e.files:
            assert r.url.startswith(("http://", "https://"))
            if r.checksum is not None:
                algo, digest = dl.parse_checksum(r.checksum)
                assert len(digest) == {"sha256": 64, "md5": 32}[algo]


@pytest.mark.parametrize("name", FETCHED)
def test_each_reader_reads_its_real_layout_through_the_mirror(name, server, cache, monkeypatch):
    entry = catalogue()[name]
    subset = "Books" if entry.subsets and name != "mind" else None
    expected, options = serve(name, subset)
    monkeypatch.setenv(MIRROR_ENV, server)
    spec = f"{name}:{subset}" if subset else name
    data = load_dataset(spec, **options)
    assert rows_of(data) == sorted(expected)
    assert data.kind == entry.kind
    # every file came from the mirror, laid out as the cache folder is
    assert all(r.startswith(f"/{entry.cache_folder}/") for r in _Handler.requests)
    assert (cache / entry.cache_folder).is_dir()


@pytest.mark.parametrize("name", BY_HAND)
def test_datasets_obtained_by_hand_read_from_a_path(name, tmp_path, cache):
    files, expected = fixture(name)
    for fname, body in files.items():
        (tmp_path / fname).write_bytes(body)
    with pytest.raises(DataError, match=r"pass path="):
        load_dataset(name)
    data = load_dataset(name, path=str(tmp_path))
    assert rows_of(data) == sorted(expected)


def test_a_wrong_checksum_on_the_mirror_is_one_line_naming_both(server, cache, monkeypatch):
    serve("ml-100k")
    monkeypatch.setenv(MIRROR_ENV, server)
    pinned = catalogue()["ml-100k"].files[0].checksum.split(":")[1]
    actual = hashlib.sha256(_Handler.files["/movielens/ml-100k.zip"]).hexdigest()
    with pytest.raises(DataError) as info:
        load_dataset("ml-100k")
    text = str(info.value)
    assert "\n" not in text and f"has sha256 {actual}, expected {pinned}" in text
    assert not (cache / "movielens" / "ml-100k.zip").exists()


def test_first_seen_checksum_is_recorded_then_enforced(server, cache, monkeypatch):
    assert catalogue()["ml-32m"].files[0].checksum is None
    serve("ml-32m")
    monkeypatch.setenv(MIRROR_ENV, server)
    load_dataset("ml-32m", cache=False)
    archive = cache / "movielens" / "ml-32m.zip"
    record = json.loads((archive.parent / "ml-32m.zip.sha256.json").read_text())
    assert record["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()
    # the server's file changes: the cached copy no longer matches and the new one is refused
    archive.write_bytes(b"PK\x03\x04 damaged")
    _Handler.files["/movielens/ml-32m.zip"] = _movielens("25m")["ml-25m.zip"]
    with pytest.raises(DataError, match=f"expected {record['sha256']}"):
        load_dataset("ml-32m", cache=False)
    assert "first verified fetch" in TOFU


def test_redirect_404_interrupted_and_offline(server, cache, monkeypatch):
    expected, options = serve("ml-100k")
    data = load_dataset("ml-100k", mirror=f"{server}/redirect", **options)
    assert rows_of(data) == sorted(expected)
    (cache / "movielens" / "ml-100k.zip").unlink()
    with pytest.raises(DataError, match=r"HTTP 404"):
        load_dataset("ml-100k", mirror=f"{server}/nothing-here", cache=False, **options)
    with pytest.raises(DataError, match="was interrupted"):
        load_dataset("ml-100k", mirror=f"{server}/cut", cache=False, **options)
    with pytest.raises(DataError, match="could not download"):
        load_dataset("ml-100k", mirror="http://127.0.0.1:9", cache=False, **options)
    with pytest.raises(DataError, match=r"not in the cache .*workbench data fetch ml-100k"):
        load_dataset("ml-100k", download=False, cache=False)
    assert not (cache / "movielens" / "ml-100k.zip").exists()


# -- names ----------------------------------------------------------------------------------
def test_the_data_word_forms(cache, tmp_path):
    assert dataset_spec("ml-1m").name == "ml-1m"
    assert dataset_spec("movielens-1m").name == "movielens-1m"  # an alias
    spec = dataset_spec("amazon-2018:Books")
    assert (spec.name, spec.params) == ("amazon-2018", {"subset": "Books"})
    with pytest.raises(UnknownNameError, match="did you mean 'ml-1m'"):
        dataset_spec("ml-1mm")
    with pytest.raises(DataError, match="did you mean 'Books'"):
        load_dataset("amazon-2018:Bokos")
    with pytest.raises(DataError, match="name a subset, e.g. amazon-2018:All_Beauty"):
        load_dataset("amazon-2018")


def test_a_folder_of_a_known_release_reads_as_it(tmp_path, monkeypatch):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r:g}\t881250949\n" for u, i, r in RATINGS))
    monkeypatch.chdir(tmp_path)
    data = load_dataset("ml-100k/")
    assert data.name == "movielens-100k" and rows_of(data) == sorted(RATINGS)
    assert load_dataset(str(folder)).name == "movielens-100k"
    lastfm = tmp_path / "hetrec"
    lastfm.mkdir()
    (lastfm / "user_artists.dat").write_text("userID\tartistID\tweight\n2\t51\t13\n")
    assert load_dataset(str(lastfm)).kind == "implicit"
    with pytest.raises(DataError, match="is a folder; give the path of a data file"):
        load_dataset(str(tmp_path))


def test_workbench_datasets_lists_the_catalogue(capsys, cache):
    code, out, _ = cli(capsys, "datasets", "--json")
    assert code == 0
    cards = {d["name"]: d["card"] for d in json.loads(out) if "card" in d}
    assert len(cards) >= 25
    assert cards["ml-1m"]["licence"] and cards["ml-1m"]["citation"]
    assert cards["ml-1m"]["cached"] is False
    assert cards["yelp"]["obtain"].startswith("accept the terms")
    assert cards["ml-32m"]["checksums"] == [TOFU]
    code, out, _ = cli(capsys, "datasets")
    assert code == 0 and "public datasets" in out and "amazon-2023-5core" in out


# -- preparation ----------------------------------------------------------------------------
def kcore_pandas(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """An independent k-core: drop users and items under k rows with pandas until stable."""
    while True:
        users = frame.groupby("user")["item"].transform("size")
        items = frame.groupby("item")["user"].transform("size")
        kept = frame[(users >= k) & (items >= k)]
        if len(kept) == len(frame):
            return kept
        frame = kept


def test_kcore_against_pandas_on_random_data():
    rng = np.random.default_rng(0)
    user = rng.zipf(1.6, 3000) % 300
    item = rng.zipf(1.4, 3000) % 200
    frame = pd.DataFrame({"user": user, "item": item}).drop_duplicates()
    for k in (2, 3, 5):
        mask = kcore_mask(frame.user.to_numpy(), frame.item.to_numpy(), k)
        ref = kcore_pandas(frame, k)
        assert sorted(frame.index[mask]) == sorted(ref.index)


@pytest.mark.parametrize("k", [5, 10, 20])
@pytest.mark.parametrize("which", ["ml-100k", "lastfm"])
def test_kcore_matches_pandas_on_real_data(which, k, real_data_dir):
    if which == "ml-100k":
        data = load_dataset("movielens", path=str(real_data_dir / "ml-100k"), metadata=False)
    else:
        data = load_dataset("lastfm", path=str(real_data_dir / "hetrec2011-lastfm-2k"))
    ours, steps = prepare(data, Preparation(kcore=k))
    frame = data.to_pandas()[["user", "item", "value"]]
    ref = kcore_pandas(frame, k)
    got = ours.to_pandas()[["user", "item", "value"]]
    key = ["user", "item"]
    assert_frame = pd.testing.assert_frame_equal
    assert_frame(got.sort_values(key).reset_index(drop=True),
                 ref.sort_values(key).reset_index(drop=True), check_dtype=False)  # fmt: skip
    assert steps == [{"step": "k-core", "k": k, "rows": len(ref),
                      "users": ref.user.nunique(), "items": ref.item.nunique()}]  # fmt: skip
    assert ours.user_counts().min() >= k and ours.item_counts().min() >= k


def test_preparation_steps_are_recorded_and_seeded(server, cache, monkeypatch):
    expected, options = serve("ml-1m")
    monkeypatch.setenv(MIRROR_ENV, server)
    data = load_dataset("ml-1m", min_rating=4, **options)
    assert rows_of(data) == [("1", "10", 1.0), ("2", "10", 1.0)]
    assert data.kind == "implicit"
    assert data.provenance.preparation == (
        {"step": "rating threshold", "min_rating": 4.0, "rows": 2, "users": 2, "items": 1},
    )
    a = load_dataset("ml-1m", sample_users=2, seed=7, **options)
    b = load_dataset("ml-1m", sample_users=2, seed=7, cache=False, **options)
    assert rows_of(a) == rows_of(b) and a.n_users == 2
    with pytest.raises(DataError, match="no interactions are left after kcore=3"):
        load_dataset("ml-1m", kcore=3, **options)
    with pytest.raises(DataError, match=r"since=.*expected a date"):
        load_dataset("ml-1m", since="yesterday-ish", **options)
    late = load_dataset("ml-1m", since="2000-07-30", **options)
    assert len(late) == 4
    with pytest.raises(DataError, match="no interactions are left after since="):
        load_dataset("ml-1m", since="2001-01-01", **options)


# -- the converted cache --------------------------------------------------------------------
def test_the_second_load_reads_the_converted_copy(server, cache, monkeypatch, capsys):
    expected, options = serve("ml-latest-small")
    monkeypatch.setenv(MIRROR_ENV, server)
    first = load_dataset("ml-latest-small", kcore=1, **options)
    archive = cache / "movielens" / "ml-latest-small.zip"
    archive.unlink()  # the copy is keyed by the checksum: the source is not opened again
    second = load_dataset("ml-latest-small", kcore=1, **options)
    assert rows_of(second) == rows_of(first) == sorted(expected)
    assert second.fingerprint() == first.fingerprint()
    assert _Handler.requests == ["/movielens/ml-latest-small.zip"]
    # other preparation options are another copy (and need the source again)
    with pytest.raises(DataError, match="not in the cache"):
        load_dataset("ml-latest-small", min_rating=3, download=False, **options)
    code, out, _ = cli(capsys, "data", "cache", "--json")
    copies = json.loads(out)["copies"]
    assert code == 0 and [c["name"] for c in copies] == ["movielens-latest-small"]
    code, out, _ = cli(capsys, "data", "cache", "--clear")
    assert code == 0 and "removed 1 converted copy" in out
    assert json.loads(cli(capsys, "data", "cache", "--json")[1])["copies"] == []


def test_tabular_cache_option_keys_on_the_file(tmp_path, cache):
    path = tmp_path / "r.csv"
    path.write_text("user,item,rating\n1,10,4\n2,10,5\n")
    a = load_dataset("tabular", path=str(path), cache=True)
    b = load_dataset("tabular", path=str(path), cache=True)
    assert rows_of(a) == rows_of(b) and len(list((cache / "converted").iterdir())) == 1
    path.write_text("user,item,rating\n1,10,4\n2,10,5\n3,10,1\n")  # changed: read again
    assert len(load_dataset("tabular", path=str(path), cache=True)) == 3


def test_fetch_and_compare_through_the_mirror(server, cache, monkeypatch, capsys, tmp_path):
    # a fixture big enough to split and fit: 30 users x 12 items
    rng = np.random.default_rng(1)
    lines = [f"{u}\t{i}\t{rng.integers(1, 6)}\t88125{u:04d}" for u in range(1, 31)
             for i in range(1, 13)]  # fmt: skip
    body = _zip({"ml-100k/u.data": "\n".join(lines) + "\n"})
    _Handler.files["/movielens/ml-100k.zip"] = body
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    monkeypatch.setenv(MIRROR_ENV, server)
    args = ["compare", "--data", f"ml-100k checksum={digest} kcore=2", "--model", "sgd n_epochs=2",
            "--split", "holdout", "--metric", "rmse", "--json"]  # fmt: skip
    code, out, err = cli(capsys, *args, "--run-dir", tmp_path / "a")  # fetches, verifies, runs
    assert code == 0, err
    first = json.loads(out)
    assert _Handler.requests == ["/movielens/ml-100k.zip"]
    assert (cache / "movielens" / "ml-100k.zip").read_bytes() == body
    converted = list((cache / "converted").iterdir())
    assert len(converted) == 1
    code, out, err = cli(capsys, *args, "--run-dir", tmp_path / "b")  # reads the copy
    assert code == 0, err
    second = json.loads(out)
    facts = first["metadata"]["dataset"]
    assert second["metadata"]["dataset"]["fingerprint"] == facts["fingerprint"]
    assert _Handler.requests == ["/movielens/ml-100k.zip"]  # no second download
    # the preparation is in the run's metadata and the report's header
    assert facts["preparation"] == [
        {"step": "k-core", "k": 2, "rows": 360, "users": 30, "items": 12}
    ]
    from workbench_exporters.common import describe_run

    from workbench.results import Results

    header = describe_run(Results.from_dict(first))
    assert ("data preparation", "k-core k=2: 360 rows, 30 users, 12 items") in header
    # fetching what is cached verifies it and downloads nothing
    code, out, err = cli(capsys, "data", "fetch", "ml-100k", "-o", f"checksum={digest}")
    assert code == 0 and "verified" in out, err
    assert _Handler.requests == ["/movielens/ml-100k.zip"]


def test_a_bad_mirror_checksum_in_compare_is_one_line(server, cache, monkeypatch, capsys):
    serve("ml-100k")
    monkeypatch.setenv(MIRROR_ENV, server)
    code, _, err = cli(capsys, "compare", "--data", "ml-100k", "--model", "sgd", "--json")
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "has sha256" in lines[0] and "expected 50d2a982" in lines[0]


def test_tar_member_bound(tmp_path, monkeypatch):
    from workbench_datasets.sources import tar_member

    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_targz({"d/big.tsv": "x" * 5000}))
    monkeypatch.setenv("WORKBENCH_MAX_DATA_BYTES", "1000")
    with pytest.raises(DataError, match="over the bound"):
        tar_member(archive, "big.tsv")
    monkeypatch.delenv("WORKBENCH_MAX_DATA_BYTES")
    assert tar_member(archive, "big.tsv").read_text() == "x" * 5000
    assert Path(tmp_path / "big.tsv").is_file()


def test_the_converted_copy_keeps_side_information_and_sees_edited_files(tmp_path, cache):
    from workbench_datasets.movielens import MovieLens

    folder = tmp_path / "ml-100k"
    folder.mkdir()
    (folder / "u.data").write_text("".join(f"{u}\t{i}\t{r:g}\t881250949\n" for u, i, r in RATINGS))
    (folder / "u.user").write_text("1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|3\n")
    plain = MovieLens(path=str(folder)).load()
    assert plain.user_attributes is not None
    for _ in range(2):  # the second load reads the copy
        data = load_dataset("ml-100k", path=str(folder))
        assert data.user_attributes.features == plain.user_attributes.features
        assert np.array_equal(data.user_attributes.indices, plain.user_attributes.indices)
        assert list(data.user_attributes.ids) == list(plain.user_attributes.ids)
    assert len(list((cache / "converted").iterdir())) == 1
    # a file edited inside the folder is another copy (the folder's own time did not change)
    (folder / "u.data").write_text("1\t10\t2\t881250949\n2\t10\t5\t881250949\n")
    assert rows_of(load_dataset("ml-100k", path=str(folder))) == [
        ("1", "10", 2.0),
        ("2", "10", 5.0),
    ]
    with pytest.raises(DataError, match="no such file or folder"):
        load_dataset("ml-100k", path=str(tmp_path / "nothing"))
