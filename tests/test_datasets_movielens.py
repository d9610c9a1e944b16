"""MovieLens and Last.fm: layouts, metadata, and pooch downloads against a local HTTP server."""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from workbench_datasets import fetch as dl
from workbench_datasets.movielens import VARIANTS

from workbench.errors import DataError
from workbench.experiments.loading import load_dataset

FIX = Path(__file__).parent / "fixtures" / "data"


def ratings(data) -> list[tuple]:
    frame = data.to_pandas()
    return sorted(zip(frame.user, frame.item, frame.value, frame.timestamp, strict=True))


@pytest.fixture(scope="module")
def expected() -> list[tuple]:
    rows = []
    for line in (FIX / "ml-100k" / "u.data").read_text().splitlines():
        u, i, r, t = map(int, line.split("\t"))
        rows.append((u, i, float(r), t))
    return sorted(rows)


@pytest.mark.parametrize(
    ("path", "variant"),
    [("ml-100k", "100k"), ("ml-100k-recbole", "100k"), ("ml-1m.zip", "1m")],
)
def test_layouts_load_the_same_ratings_with_titles(path, variant, expected):
    data = load_dataset("movielens", path=str(FIX / path))
    assert data.meta["variant"] == variant
    assert data.name == f"movielens-{variant}"
    assert data.rating_scale == (1.0, 5.0)
    assert ratings(data) == expected
    meta = data.item_metadata
    assert len(meta) == 10
    assert meta.loc[1, "title"] == "Toy Story (1995)"
    assert meta.loc[1, "genres"] == "Animation|Children's|Comedy"
    assert meta.loc[10, "title"] == "Misérables, Les (1995)"  # Latin-1 in u.item, movies.dat


def test_latest_small_layout_half_stars_crlf():
    data = load_dataset("ml", path=str(FIX / "ml-latest-small"))
    assert data.meta["variant"] == "latest-small"
    assert data.rating_scale == (0.5, 5.0)
    assert len(data) == 36
    assert set(np.unique(data.value)) <= {x / 2 for x in range(1, 11)}
    assert (data.value % 1 == 0.5).any()
    assert data.item_metadata.loc[10, "title"] == "Misérables, Les (1995)"  # quoted, comma


def test_explicit_variant_and_no_metadata():
    data = load_dataset("movielens", path=str(FIX / "ml-100k"), variant="100k", metadata=False)
    assert data.item_metadata is None
    assert data.provenance.path == FIX / "ml-100k"


def test_wrong_variant_names_what_was_found():
    with pytest.raises(
        DataError, match=r"no ratings\.csv \(MovieLens 20m\) found \(found: u\.data"
    ):
        load_dataset("movielens", path=str(FIX / "ml-100k"), variant="20m")


def test_pinned_checksums_are_well_formed():
    # 32m and latest have no published checksum: trust on first use (sources.py)
    assert {k for k, v in VARIANTS.items() if v.checksum is None} == {"32m", "latest"}
    for variant in VARIANTS.values():
        assert variant.archive == f"ml-{variant.key}.zip"
        if variant.checksum is None:
            continue
        algo, digest = dl.parse_checksum(variant.checksum)
        assert len(digest) == {"sha256": 64, "md5": 32}[algo]
        assert variant.archive == f"ml-{variant.key}.zip"


# -- download ------------------------------------------------------------------------------
def small_archive() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ml-100k/u.data", (FIX / "ml-100k" / "u.data").read_bytes())
        zf.writestr("ml-100k/u.item", (FIX / "ml-100k" / "u.item").read_bytes())
        zf.writestr("ml-100k/README", "x" * 200_000)  # big enough to be cut in the middle
    return buf.getvalue()


class _Handler(http.server.BaseHTTPRequestHandler):
    archive = b""
    requests: list[str] = []
    flaky_left = 0

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):  # noqa: N802 - the http.server API
        type(self).requests.append(self.path)
        if self.path.startswith("/flaky/") and type(self).flaky_left > 0:
            type(self).flaky_left -= 1
            self.send_error(503, "Service Unavailable")
        elif self.path.startswith(("/good/", "/flaky/")):
            self._send(self.archive)
        elif self.path.startswith("/cut/"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.archive)))
            self.end_headers()
            self.wfile.write(self.archive[: len(self.archive) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.send_error(404, "Not Found")

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    _Handler.archive = small_archive()
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
    monkeypatch.setattr(dl, "RETRIES", 0)  # no waiting between attempts (retry: its own test)
    return folder


def cache_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_cache_dir_env_var_overrides_platform_dir(monkeypatch, tmp_path):
    monkeypatch.setenv(dl.CACHE_ENV, str(tmp_path / "here"))
    assert dl.cache_dir() == tmp_path / "here"
    monkeypatch.delenv(dl.CACHE_ENV)
    import platformdirs

    assert dl.cache_dir() == Path(platformdirs.user_cache_dir("recsys-workbench"))


def test_download_good_archive_then_reuse_cache(server, cache, expected):
    digest = hashlib.sha256(_Handler.archive).hexdigest()
    spec = {
        "name": "movielens",
        "variant": "100k",
        "mirror": f"{server}/good/",
        "checksum": f"sha256:{digest}",
    }
    data = load_dataset(spec)
    assert ratings(data) == expected
    assert data.item_metadata.loc[10, "title"] == "Misérables, Les (1995)"
    assert cache_files(cache) == ["movielens/ml-100k.zip"]
    assert _Handler.requests == ["/good/ml-100k.zip"]
    # the second load reads the cache: no request, even with download=false
    again = load_dataset({**spec, "download": False})
    assert ratings(again) == expected
    assert _Handler.requests == ["/good/ml-100k.zip"]


def test_bad_checksum_leaves_nothing_in_cache(server, cache):
    # the pinned official checksum cannot match the small test archive
    with pytest.raises(DataError) as info:
        load_dataset("movielens", variant="100k", mirror=f"{server}/good")
    text = str(info.value)
    assert "has sha256" in text and VARIANTS["100k"].checksum.split(":")[1] in text
    assert "nothing was saved" in text and "pass path=FILE" in text
    assert f"put it at {cache / 'movielens' / 'ml-100k.zip'}" in text
    assert cache_files(cache) == []


def test_interrupted_transfer_leaves_nothing_in_cache(server, cache):
    digest = hashlib.sha256(_Handler.archive).hexdigest()
    with pytest.raises(DataError, match="was interrupted") as info:
        load_dataset(
            "movielens", variant="100k", mirror=f"{server}/cut", checksum=f"sha256:{digest}"
        )
    assert "nothing was saved" in str(info.value)
    assert cache_files(cache) == []


def test_http_error_and_unreachable_server(server, cache):
    with pytest.raises(DataError, match=r"could not download .*HTTP 404"):
        load_dataset("movielens", variant="1m", mirror=f"{server}/missing")
    with pytest.raises(DataError, match="could not download"):
        load_dataset("movielens", variant="1m", mirror="http://127.0.0.1:9")
    assert cache_files(cache) == []


def test_not_cached_and_download_disabled(cache):
    with pytest.raises(
        DataError, match=r"MovieLens 25m is not in the cache .*put https://.*ml-25m.zip at "
    ):
        load_dataset("movielens", variant="25m", download=False)


def test_damaged_cached_archive_says_what_to_delete(cache):
    path = cache / "movielens" / "ml-100k.zip"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(
        DataError, match="ml-100k.zip: the zip data is truncated or corrupt"
    ) as info:
        load_dataset("movielens", download=False)
    assert f"delete {path} and run again" in str(info.value)


def test_md5_checksums_are_verified_too(server, tmp_path, monkeypatch):
    monkeypatch.setattr(dl, "RETRIES", 0)
    dest = tmp_path / "a.zip"
    md5 = hashlib.md5(_Handler.archive).hexdigest()  # noqa: S324 - what GroupLens publishes
    dl.fetch(f"{server}/good/a.zip", dest, checksum=f"md5:{md5}")
    assert dest.read_bytes() == _Handler.archive
    with pytest.raises(DataError, match="has md5"):
        dl.fetch(f"{server}/good/b.zip", tmp_path / "b.zip", checksum="md5:" + "0" * 32)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.zip"]


def test_a_failed_attempt_is_retried(server, cache, monkeypatch, expected):
    monkeypatch.setattr(dl, "RETRIES", 1)
    _Handler.flaky_left = 1
    digest = hashlib.sha256(_Handler.archive).hexdigest()
    data = load_dataset(
        "movielens", variant="100k", mirror=f"{server}/flaky", checksum=f"sha256:{digest}"
    )
    assert ratings(data) == expected
    assert _Handler.requests == ["/flaky/ml-100k.zip", "/flaky/ml-100k.zip"]


def test_a_cached_file_that_does_not_match_is_fetched_again(server, cache, expected):
    digest = hashlib.sha256(_Handler.archive).hexdigest()
    path = cache / "movielens" / "ml-100k.zip"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"PK\x03\x04 a damaged copy")
    spec = {"variant": "100k", "mirror": f"{server}/good", "checksum": f"sha256:{digest}"}
    assert ratings(load_dataset("movielens", **spec)) == expected
    assert path.read_bytes() == _Handler.archive
    assert _Handler.requests == ["/good/ml-100k.zip"]


def test_bad_checksum_option_is_one_line():
    with pytest.raises(DataError, match="expected ALGORITHM:HEX"):
        dl.parse_checksum("sha256:not-hex")


# -- Last.fm --------------------------------------------------------------------------------
LASTFM_ROWS = "userID\tartistID\tweight\r\n2\t51\t13883\r\n2\t52\t11690\r\n3\t51\t7\r\n"
LASTFM_ARTISTS = "id\tname\turl\tpictureURL\n51\tDuran Duran\tu\tp\n52\tMorcheeba\tu\tp\n"


def lastfm_archive(folder: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(folder + "user_artists.dat", LASTFM_ROWS)
        zf.writestr(folder + "artists.dat", LASTFM_ARTISTS)
        zf.writestr(folder + "tags.dat", "tagID\ttagValue\n1\tmetal\n")
    return buf.getvalue()


def check_lastfm(data) -> None:
    frame = data.to_pandas()
    assert sorted(zip(frame.user, frame.item, frame.value, strict=True)) == [
        (2, 51, 13883.0), (2, 52, 11690.0), (3, 51, 7.0)
    ]  # fmt: skip
    assert data.kind == "implicit"
    assert data.item_metadata.loc[52, "title"] == "Morcheeba"


@pytest.mark.parametrize("folder", ["", "hetrec2011-lastfm-2k/"])
def test_lastfm_local_zip_and_folder_are_used_as_is(tmp_path, folder):
    archive = tmp_path / "lastfm.zip"
    archive.write_bytes(lastfm_archive(folder))
    check_lastfm(load_dataset("lastfm", path=str(archive)))
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(tmp_path / "x")
    check_lastfm(load_dataset("lastfm", path=str(tmp_path / "x" / folder)))


def test_lastfm_download_then_cache(server, cache):
    body = lastfm_archive()
    _Handler.archive = body
    digest = hashlib.sha256(body).hexdigest()
    spec = {"mirror": f"{server}/good/hetrec.zip", "checksum": f"sha256:{digest}"}
    check_lastfm(load_dataset("lastfm", **spec))
    assert cache_files(cache) == ["lastfm/hetrec2011-lastfm-2k.zip"]
    check_lastfm(load_dataset("lastfm", **spec, download=False))
    assert _Handler.requests == ["/good/hetrec.zip"]


def test_lastfm_offline_says_where_to_put_the_file(cache):
    dest = cache / "lastfm" / "hetrec2011-lastfm-2k.zip"
    with pytest.raises(DataError) as info:
        load_dataset("lastfm", mirror="http://127.0.0.1:9/hetrec2011-lastfm-2k.zip")
    text = str(info.value)
    assert "could not download" in text and f"put it at {dest}" in text
    assert "\n" not in text
    with pytest.raises(DataError, match=r"Last.fm is not in the cache .*put https://"):
        load_dataset("lastfm", download=False)
