"""The catalogue of public datasets: one typed record per dataset the field uses by name.

Each `Entry` says where the files are (`Remote`: URL, pinned checksum where one is known),
how big the data is, its licence and citation, which reader reads it, what kind of feedback
it is, and how to obtain it by hand where the host needs a login or licence acceptance.
Checksums are pinned only where they are published or pinned by other loaders for the
exact URL; the others are recorded on the first fetch (trust on first use, `sources`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.errors import DataError

#: What a checksum-less entry says about its checksum (it is recorded when first fetched).
TOFU = "checksum: to be pinned on first verified fetch"


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """``"; did you mean 'X'?"`` for the closest choice (case-insensitive), or ``""``."""
    import difflib

    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.5)
    return f"; did you mean {lowered[close[0]]!r}?" if close else ""


@dataclass(frozen=True)
class Remote:
    """One file of a dataset: its URL (``{subset}`` is filled in), checksum and size."""

    url: str
    checksum: str | None = None
    size: int | None = None

    def filename(self, subset: str | None = None) -> str:
        return self.url_for(subset).rsplit("/", 1)[1]

    def url_for(self, subset: str | None) -> str:
        return self.url.replace("{subset}", subset or "")


@dataclass(frozen=True)
class Entry:
    """A public dataset: sources, facts for the listing, and how it is read."""

    name: str
    title: str
    reader: str
    kind: str
    licence: str
    citation: str
    homepage: str
    files: tuple[Remote, ...] = ()
    layout: Mapping[str, Any] = field(default_factory=dict)
    size: str = "?"
    interactions: int | None = None
    obtain: str | None = None
    subsets: tuple[str, ...] = ()
    default_subset: str | None = None
    folder: str | None = None
    aliases: tuple[str, ...] = ()
    #: File names that mark a folder as this release (``a+b``: both); see `public.recognise`.
    marks: tuple[str, ...] = ()

    @property
    def cache_folder(self) -> str:
        return self.folder or self.name

    @property
    def by_hand(self) -> bool:
        """Whether the files must be obtained by hand (login, licence, no stable URL)."""
        return self.obtain is not None and not self.files

    def subset(self, value: str | None) -> str | None:
        """The subset to read (checked against the known ones), or None."""
        if not self.subsets:
            if value is not None:
                raise DataError(f"{self.name}: has no subsets (got subset={value!r})")
            return None
        chosen = value or self.default_subset
        if chosen is None:
            raise DataError(
                f"{self.name}: name a subset, e.g. {self.name}:{self.subsets[0]} "
                f"(subsets: {', '.join(self.subsets)})"
            )
        if chosen not in self.subsets:
            hint = did_you_mean(chosen, self.subsets)
            raise DataError(
                f"{self.name}: unknown subset {chosen!r}{hint} (subsets: {', '.join(self.subsets)})"
            )
        return chosen


_GL = "https://files.grouplens.org/datasets/"
_ML_CITE = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
    "Context. ACM TiiS 5, 4, Article 19."
)
_ML_LICENCE = "GroupLens usage licence (research, no redistribution)"
_AMAZON_2018 = (
    "All_Beauty", "AMAZON_FASHION", "Appliances", "Arts_Crafts_and_Sewing", "Automotive",
    "Books", "CDs_and_Vinyl", "Cell_Phones_and_Accessories", "Clothing_Shoes_and_Jewelry",
    "Digital_Music", "Electronics", "Gift_Cards", "Grocery_and_Gourmet_Food",
    "Home_and_Kitchen", "Industrial_and_Scientific", "Kindle_Store", "Luxury_Beauty",
    "Magazine_Subscriptions", "Movies_and_TV", "Musical_Instruments", "Office_Products",
    "Patio_Lawn_and_Garden", "Pet_Supplies", "Prime_Pantry", "Software",
    "Sports_and_Outdoors", "Tools_and_Home_Improvement", "Toys_and_Games", "Video_Games",
)  # fmt: skip
_AMAZON_2023 = (
    "All_Beauty", "Amazon_Fashion", "Appliances", "Arts_Crafts_and_Sewing", "Automotive",
    "Baby_Products", "Beauty_and_Personal_Care", "Books", "CDs_and_Vinyl",
    "Cell_Phones_and_Accessories", "Clothing_Shoes_and_Jewelry", "Digital_Music",
    "Electronics", "Gift_Cards", "Grocery_and_Gourmet_Food", "Handmade_Products",
    "Health_and_Household", "Health_and_Personal_Care", "Home_and_Kitchen",
    "Industrial_and_Scientific", "Kindle_Store", "Magazine_Subscriptions", "Movies_and_TV",
    "Musical_Instruments", "Office_Products", "Patio_Lawn_and_Garden", "Pet_Supplies",
    "Software", "Sports_and_Outdoors", "Subscription_Boxes", "Tools_and_Home_Improvement",
    "Toys_and_Games", "Video_Games", "Unknown",
)  # fmt: skip
_A18 = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_v2/"
_A23 = "https://datarepo.eng.ucsd.edu/mcauley_group/data/amazon_2023/"
_A18_CITE = (
    "Jianmo Ni, Jiacheng Li and Julian McAuley. 2019. Justifying recommendations using "
    "distantly-labeled reviews and fine-grained aspects. EMNLP."
)
_A23_CITE = (
    "Yupeng Hou, Jiacheng Li, Zhankui He, An Yan, Xiusi Chen and Julian McAuley. 2024. "
    "Bridging Language and Items for Retrieval and Recommendation. arXiv:2403.03952."
)
_UCSD_LICENCE = "UCSD McAuley lab: research use, cite the paper"
_LIGHTGCN = "https://raw.githubusercontent.com/gusye1234/LightGCN-PyTorch/master/data/"
_LIGHTGCN_CITE = (
    "Xiangnan He, Kuan Deng, Xiang Wang, Yan Li, Yongdong Zhang and Meng Wang. 2020. "
    "LightGCN: Simplifying and Powering Graph Convolution Network for Recommendation. SIGIR."
)
_NCF = "https://raw.githubusercontent.com/hexiangnan/neural_collaborative_filtering/master/Data/"
_MTG = "http://mtg.upf.edu/static/datasets/last.fm/"


def _ml(key: str, title: str, size: str, n: int, *, marks: tuple[str, ...]) -> Entry:
    from workbench_datasets.movielens import VARIANTS

    v = VARIANTS[key]
    return Entry(
        name=f"ml-{key}",
        title=title,
        reader="movielens",
        kind="explicit",
        licence=_ML_LICENCE,
        citation=_ML_CITE,
        homepage="https://grouplens.org/datasets/movielens/",
        files=(Remote(_GL + "movielens/" + v.archive, v.checksum, v.size),),
        layout={"variant": key},
        size=size,
        interactions=n,
        folder="movielens",
        aliases=(f"movielens-{key}",),
        marks=marks,
    )


def _entries() -> list[Entry]:
    lastfm_cite = (
        "Iván Cantador, Peter Brusilovsky and Tsvi Kuflik. 2011. 2nd Workshop on Information "
        "Heterogeneity and Fusion in Recommender Systems (HetRec 2011). RecSys."
    )
    celma = "Òscar Celma. 2010. Music Recommendation and Discovery in the Long Tail. Springer."
    ml = [
        _ml("100k", "MovieLens 100K (1998)", "4.9 MB", 100_000, marks=("u.data",)),
        _ml("1m", "MovieLens 1M (2003)", "5.9 MB", 1_000_209, marks=("ratings.dat+movies.dat",)),
        _ml("10m", "MovieLens 10M (2009)", "63 MB", 10_000_054, marks=()),
        _ml("20m", "MovieLens 20M (2015)", "190 MB", 20_000_263, marks=()),
        _ml("25m", "MovieLens 25M (2019)", "250 MB", 25_000_095, marks=()),
        _ml("32m", "MovieLens 32M (2023)", "239 MB", 32_000_204, marks=()),
        _ml("latest-small", "MovieLens latest, small (education)", "1 MB", 100_836,
            marks=("ratings.csv+movies.csv",)),
        _ml("latest", "MovieLens latest, full (changes over time)", "335 MB", 33_832_162,
            marks=()),
    ]  # fmt: skip
    from workbench_datasets import lastfm

    return [
        *ml,
        Entry(
            "netflix-prize",
            "Netflix Prize (2006)",
            "netflix",
            "explicit",
            "Netflix Prize rules: no redistribution",
            "James Bennett and Stan Lanning. 2007. The Netflix Prize. KDD Cup and Workshop.",
            "https://www.netflixprize.com/",
            size="665 MB",
            interactions=100_480_507,
            obtain="not downloadable: the licence forbids redistribution. Use a copy you "
            "obtained (the official nf_prize_dataset.tar.gz layout: training_set/mv_*.txt, "
            "or combined_data_*.txt) and pass path=FOLDER",
            marks=("training_set", "combined_data_1.txt"),
        ),
        Entry(
            "lastfm-2k",
            "Last.fm HetRec 2011 (play counts)",
            "lastfm",
            "implicit",
            "HetRec 2011: research use, cite",
            lastfm_cite,
            "https://grouplens.org/datasets/hetrec-2011/",
            files=(Remote(lastfm.URL, lastfm.CHECKSUM),),
            size="2.6 MB",
            interactions=92_834,
            folder="lastfm",
            aliases=("hetrec-lastfm",),
            marks=("user_artists.dat",),
        ),
        Entry(
            "lastfm-1k",
            "Last.fm 1K users (listening events)",
            "table",
            "implicit",
            "CC BY-NC-SA 3.0 (Last.fm terms of use)",
            celma,
            "http://ocelma.net/MusicRecommendationDataset/lastfm-1K.html",
            files=(Remote(_MTG + "lastfm-dataset-1K.tar.gz"),),
            layout={
                "member": "userid-timestamp-artid-artname-traid-traname.tsv",
                "sep": "\t",
                "header": False,
                "roles": {"user": 0, "item": 3, "timestamp": 1},
                "duplicates": "sum",
            },
            size="641 MB",
            interactions=19_150_868,
            marks=("userid-timestamp-artid-artname-traid-traname.tsv",),
        ),
        Entry(
            "lastfm-360k",
            "Last.fm 360K users (artist play counts)",
            "table",
            "implicit",
            "CC BY-NC-SA 3.0 (Last.fm terms of use)",
            celma,
            "http://ocelma.net/MusicRecommendationDataset/lastfm-360K.html",
            files=(Remote(_MTG + "lastfm-dataset-360K.tar.gz"),),
            layout={
                "member": "usersha1-artmbid-artname-plays.tsv",
                "sep": "\t",
                "header": False,
                "roles": {"user": 0, "item": 2, "weight": 3},
                "duplicates": "sum",
            },
            size="543 MB",
            interactions=17_559_530,
            marks=("usersha1-artmbid-artname-plays.tsv",),
        ),
        Entry(
            "amazon-2018",
            "Amazon Reviews 2018, ratings only (per category)",
            "table",
            "explicit",
            _UCSD_LICENCE,
            _A18_CITE,
            "https://cseweb.ucsd.edu/~jmcauley/datasets/amazon_v2/",
            files=(Remote(_A18 + "categoryFilesSmall/{subset}.csv"),),
            layout={
                "sep": ",",
                "header": False,
                "roles": {"item": 0, "user": 1, "rating": 2, "timestamp": 3},
                "rating_scale": (1.0, 5.0),
            },
            size="per category",
            interactions=230_139_802,
            subsets=_AMAZON_2018,
        ),
        Entry(
            "amazon-2018-5core",
            "Amazon Reviews 2018, 5-core reviews (per category)",
            "jsonl",
            "explicit",
            _UCSD_LICENCE,
            _A18_CITE,
            "https://cseweb.ucsd.edu/~jmcauley/datasets/amazon_v2/",
            files=(Remote(_A18 + "categoryFilesSmall/{subset}_5.json.gz"),),
            layout={
                "user": "reviewerID",
                "item": "asin",
                "rating": "overall",
                "timestamp": "unixReviewTime",
                "rating_scale": (1.0, 5.0),
            },
            size="per category",
            interactions=75_260_037,
            subsets=_AMAZON_2018,
        ),
        Entry(
            "amazon-2023",
            "Amazon Reviews 2023, full reviews (per category)",
            "jsonl",
            "explicit",
            _UCSD_LICENCE,
            _A23_CITE,
            "https://amazon-reviews-2023.github.io/",
            files=(Remote(_A23 + "raw/review_categories/{subset}.jsonl.gz"),),
            layout={
                "user": "user_id",
                "item": "parent_asin",
                "rating": "rating",
                "timestamp": "timestamp",
                "time_unit": "ms",
                "rating_scale": (1.0, 5.0),
            },
            size="per category",
            interactions=571_540_000,
            subsets=_AMAZON_2023,
        ),
        Entry(
            "amazon-2023-5core",
            "Amazon Reviews 2023, 5-core ratings (per category)",
            "table",
            "explicit",
            _UCSD_LICENCE,
            _A23_CITE,
            "https://amazon-reviews-2023.github.io/",
            files=(Remote(_A23 + "benchmark/5core/rating_only/{subset}.csv.gz"),),
            layout={
                "sep": ",",
                "header": True,
                "roles": {
                    "user": "user_id",
                    "item": "parent_asin",
                    "rating": "rating",
                    "timestamp": "timestamp",
                },
                "rating_scale": (1.0, 5.0),
                "time_unit": "ms",
            },
            size="per category",
            interactions=14_500_000,
            subsets=tuple(s for s in _AMAZON_2023 if s != "Unknown"),
        ),
        Entry(
            "yelp",
            "Yelp Open Dataset (reviews)",
            "jsonl",
            "explicit",
            "Yelp Dataset Terms of Use (accept on the site; no redistribution)",
            "Yelp Inc. Yelp Open Dataset. https://www.yelp.com/dataset",
            "https://www.yelp.com/dataset",
            size="4.3 GB",
            interactions=6_990_280,
            layout={
                "member": "yelp_academic_dataset_review.json",
                "user": "user_id",
                "item": "business_id",
                "rating": "stars",
                "timestamp": "date",
                "rating_scale": (1.0, 5.0),
            },
            obtain="accept the terms at https://www.yelp.com/dataset, download the JSON "
            "archive and pass path= to yelp_academic_dataset_review.json (or its folder)",
            marks=("yelp_academic_dataset_review.json",),
        ),
        *_more_entries(),
    ]


def _more_entries() -> list[Entry]:
    bx_cite = (
        "Cai-Nicolas Ziegler, Sean M. McNee, Joseph A. Konstan and Georg Lausen. 2005. "
        "Improving Recommendation Lists Through Topic Diversification. WWW."
    )
    bx = Remote("http://www2.informatik.uni-freiburg.de/~cziegler/BX/BX-CSV-Dump.zip")
    bx_layout = {"member": "BX-Book-Ratings.csv", "sep": ";", "header": True,
                 "encoding": "latin-1", "roles": {"user": 0, "item": 1, "rating": 2},
                 "string_ids": True}  # fmt: skip
    mind_cite = "Fangzhao Wu et al. 2020. MIND: A Large-scale Dataset for News Recommendation. ACL."
    mind = "https://mind201910small.blob.core.windows.net/release/"
    return [
        Entry(
            "book-crossing",
            "Book-Crossing, explicit ratings 1-10",
            "table",
            "explicit",
            "free for research, cite",
            bx_cite,
            "http://www2.informatik.uni-freiburg.de/~cziegler/BX/",
            files=(bx,),
            layout={**bx_layout, "keep": "explicit", "rating_scale": (1.0, 10.0)},
            size="25 MB",
            interactions=433_671,
            folder="book-crossing",
            marks=("BX-Book-Ratings.csv",),
        ),
        Entry(
            "book-crossing-implicit",
            "Book-Crossing, implicit (rating 0) rows",
            "table",
            "implicit",
            "free for research, cite",
            bx_cite,
            "http://www2.informatik.uni-freiburg.de/~cziegler/BX/",
            files=(bx,),
            layout={**bx_layout, "keep": "implicit"},
            size="25 MB",
            interactions=716_109,
            folder="book-crossing",
        ),
        Entry(
            "jester",
            "Jester 2 (joke ratings -10..10)",
            "table",
            "explicit",
            "free for research, cite",
            "Ken Goldberg, Theresa Roeder, Dhruv Gupta and Chris Perkins. 2001. Eigentaste: "
            "A Constant Time Collaborative Filtering Algorithm. Information Retrieval 4(2).",
            "https://eigentaste.berkeley.edu/dataset/",
            files=(Remote("https://eigentaste.berkeley.edu/dataset/archive/jester_dataset_2.zip"),),
            layout={
                "member": "jester_ratings.dat",
                "sep": "whitespace",
                "header": False,
                "roles": {"user": 0, "item": 1, "rating": 2},
                "rating_scale": (-10.0, 10.0),
            },
            size="7.7 MB",
            interactions=1_761_439,
            marks=("jester_ratings.dat",),
        ),
        Entry(
            "goodreads",
            "Goodreads (UCSD Book Graph), shelf interactions",
            "table",
            "implicit",
            _UCSD_LICENCE,
            "Mengting Wan and Julian McAuley. 2018. Item Recommendation on Monotonic "
            "Behavior Chains. RecSys.",
            "https://mengtingwan.github.io/data/goodreads.html",
            files=(
                Remote(
                    "https://datarepo.eng.ucsd.edu/mcauley_group/gdrive/goodreads/"
                    "goodreads_interactions.csv"
                ),
            ),
            layout={
                "sep": ",",
                "header": True,
                "roles": {"user": "user_id", "item": "book_id", "weight": "-"},
            },
            size="4.1 GB",
            interactions=228_648_342,
            marks=("goodreads_interactions.csv",),
        ),
        Entry(
            "steam",
            "Steam reviews (UCSD)",
            "jsonl",
            "implicit",
            _UCSD_LICENCE,
            "Wang-Cheng Kang and Julian McAuley. 2018. Self-Attentive Sequential "
            "Recommendation. ICDM.",
            "https://cseweb.ucsd.edu/~jmcauley/datasets.html#steam_data",
            files=(Remote("https://cseweb.ucsd.edu/~wckang/steam_reviews.json.gz"),),
            layout={"user": "username", "item": "product_id", "timestamp": "date", "literal": True},
            size="1.3 GB",
            interactions=7_793_069,
            marks=("steam_reviews.json",),
        ),
        Entry(
            "mind",
            "MIND news clicks (small or large, training part)",
            "mind",
            "implicit",
            "Microsoft Research License Terms (accept before use)",
            mind_cite,
            "https://msnews.github.io/",
            files=(Remote(mind + "MIND{subset}_train.zip"),),
            layout={"member": "behaviors.tsv"},
            subsets=("small", "large"),
            default_subset="small",
            size="52 / 530 MB",
            interactions=5_843_444,
            marks=("behaviors.tsv",),
        ),
        Entry(
            "epinions",
            "Epinions (trustlet, product ratings 1-5)",
            "table",
            "explicit",
            "free for research, cite",
            "Paolo Massa and Paolo Avesani. 2007. Trust-aware recommender systems. RecSys.",
            "http://www.trustlet.org/downloaded_epinions.html",
            files=(
                Remote("http://www.trustlet.org/datasets/downloaded_epinions/ratings_data.txt.bz2"),
            ),
            layout={
                "sep": " ",
                "header": False,
                "roles": {"user": 0, "item": 1, "rating": 2},
                "rating_scale": (1.0, 5.0),
            },
            size="2.5 MB",
            interactions=664_824,
            marks=("ratings_data.txt",),
        ),
        Entry(
            "douban",
            "Douban movie ratings (Ma et al.)",
            "table",
            "explicit",
            "research use, cite; no stable public URL",
            "Hao Ma, Dengyong Zhou, Chao Liu, Michael R. Lyu and Irwin King. 2011. "
            "Recommender systems with social regularization. WSDM.",
            "https://www.cse.cuhk.edu.hk/irwin.king.new/pub/data/douban",
            layout={
                "sep": "whitespace",
                "header": False,
                "roles": {"user": 0, "item": 1, "rating": 2},
                "rating_scale": (1.0, 5.0),
            },
            size="~60 MB",
            interactions=16_830_839,
            obtain="download the Douban data from the authors' page (homepage) and pass "
            "path= to its ratings file: whitespace-separated user item rating lines",
        ),
        Entry(
            "filmtrust",
            "FilmTrust (ratings 0.5-4)",
            "table",
            "explicit",
            "free for research, cite (LibRec distribution)",
            "Guibing Guo, Jie Zhang and Neil Yorke-Smith. 2013. A Novel Bayesian Similarity "
            "Measure for Recommender Systems. IJCAI.",
            "https://guoguibing.github.io/librec/datasets.html",
            files=(Remote("https://guoguibing.github.io/librec/datasets/filmtrust.zip"),),
            layout={
                "member": "ratings.txt",
                "sep": " ",
                "header": False,
                "roles": {"user": 0, "item": 1, "rating": 2},
                "rating_scale": (0.5, 4.0),
            },
            size="0.2 MB",
            interactions=35_497,
        ),
        Entry(
            "yahoo-r3",
            "Yahoo! R3 music ratings (MNAR train, MAR test)",
            "table",
            "explicit",
            "Yahoo! Webscope licence (login; no redistribution)",
            "Benjamin M. Marlin and Richard S. Zemel. 2009. Collaborative prediction and "
            "ranking with non-random missing data. RecSys.",
            "https://webscope.sandbox.yahoo.com/catalog.php?datatype=r&did=3",
            layout={
                "members": (
                    "ydata-ymusic-rating-study-v1_0-train.txt",
                    "ydata-ymusic-rating-study-v1_0-test.txt",
                ),
                "sep": "\t",
                "header": False,
                "roles": {"user": 0, "item": 1, "rating": 2},
                "rating_scale": (1.0, 5.0),
            },
            size="1.2 MB",
            interactions=365_704,
            obtain="request Yahoo! R3 at Webscope (homepage; needs a login), then pass path= "
            "to the folder with ydata-ymusic-rating-study-v1_0-train.txt and -test.txt",
            marks=("ydata-ymusic-rating-study-v1_0-train.txt",),
        ),
        Entry(
            "pinterest",
            "Pinterest (the NCF version: pinterest-20)",
            "table",
            "implicit",
            "research use, cite",
            "Xiangnan He, Lizi Liao, Hanwang Zhang, Liqiang Nie, Xia Hu and Tat-Seng Chua. "
            "2017. Neural Collaborative Filtering. WWW.",
            "https://github.com/hexiangnan/neural_collaborative_filtering",
            files=(
                Remote(_NCF + "pinterest-20.train.rating"),
                Remote(_NCF + "pinterest-20.test.rating"),
            ),
            layout={
                "sep": "\t",
                "header": False,
                "roles": {"user": 0, "item": 1, "weight": "-", "timestamp": 3},
            },
            size="21 MB",
            interactions=1_500_809,
            marks=("pinterest-20.train.rating",),
        ),
        Entry(
            "gowalla",
            "Gowalla check-ins (the LightGCN split)",
            "adjacency",
            "implicit",
            "research use, cite",
            _LIGHTGCN_CITE,
            "https://github.com/gusye1234/LightGCN-PyTorch",
            files=(Remote(_LIGHTGCN + "gowalla/train.txt"), Remote(_LIGHTGCN + "gowalla/test.txt")),
            size="9 MB",
            interactions=1_027_370,
        ),
        Entry(
            "yelp-2018",
            "Yelp 2018 (the LightGCN split)",
            "adjacency",
            "implicit",
            "Yelp Dataset Terms of Use; research use, cite",
            _LIGHTGCN_CITE,
            "https://github.com/gusye1234/LightGCN-PyTorch",
            files=(
                Remote(_LIGHTGCN + "yelp2018/train.txt"),
                Remote(_LIGHTGCN + "yelp2018/test.txt"),
            ),
            size="13 MB",
            interactions=1_561_406,
        ),
        Entry(
            "amazon-book",
            "Amazon-Book (the LightGCN split)",
            "adjacency",
            "implicit",
            _UCSD_LICENCE,
            _LIGHTGCN_CITE,
            "https://github.com/gusye1234/LightGCN-PyTorch",
            files=(
                Remote(_LIGHTGCN + "amazon-book/train.txt"),
                Remote(_LIGHTGCN + "amazon-book/test.txt"),
            ),
            size="23 MB",
            interactions=2_984_108,
        ),
        Entry(
            "ml-tag-genome",
            "MovieLens Tag Genome 2021 (movie ratings of the genome users)",
            "jsonl",
            "explicit",
            _ML_LICENCE,
            "Denis Kotkov, Alan Medlar, Alexandr Maslov, Umesh Raj Satyal, Mats Neovius and "
            "Dorota Glowacka. 2022. The Tag Genome Dataset for Books. CHIIR.",
            "https://grouplens.org/datasets/movielens/tag-genome-2021/",
            files=(Remote(_GL + "tag-genome-2021/genome_2021.zip"),),
            layout={
                "member": "movie_dataset_public_final/raw/ratings.json",
                "user": "user_id",
                "item": "item_id",
                "rating": "rating",
                "rating_scale": (0.5, 5.0),
            },
            size="1.1 GB",
            interactions=28_490_116,
        ),
    ]


#: name -> entry, in listing order.
CATALOGUE: dict[str, Entry] = {}


def catalogue() -> dict[str, Entry]:
    """Every entry by name (built on first use: it imports the MovieLens variants)."""
    if not CATALOGUE:
        for entry in _entries():
            CATALOGUE[entry.name] = entry
    return CATALOGUE


def entry(name: str) -> Entry:
    known = catalogue()
    if name in known:
        return known[name]
    raise DataError(f"unknown public dataset {name!r}{did_you_mean(name, list(known))}")
