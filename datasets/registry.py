"""The catalogue of datasets: what each one is, which files it needs and where they come from.

Other packages read this table (suites list the dataset names, networks are chosen by
``arch``), so it holds facts only; loading code lives in the format modules.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownDatasetError

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
CIFAR10_BATCHES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch")
CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


@dataclass(frozen=True)
class DatasetInfo:
    """Static facts about one dataset.

    ``files`` are paths relative to the data folder that the loader reads; ``archive`` is an
    alternative source that contains them (official CIFAR-10).  ``urls`` are tried in order
    when files are missing and downloads are allowed; empty means there is no stable public
    URL and ``source`` tells the user where to get the files.  ``exact`` is False for a
    lossy stand-in that must never be reported under the original's name.
    """

    name: str
    kind: str  # "image" or "tabular"
    n_classes: int | None
    arch: str
    format: str  # "idx", "odds-mat", "adbench-npz", "cifar10-python", "cifar10-jpeg-zip"
    folder: str
    files: tuple[str, ...]
    source: str
    urls: tuple[str, ...] = ()
    archive: str | None = None
    exact: bool = True

    @property
    def classes(self) -> tuple[int, ...]:
        """Class ids: digits/categories 0..n-1 for images, (0, 1) = (inlier, outlier) for ODDS."""
        return tuple(range(self.n_classes)) if self.n_classes else (0, 1)


def _idx(name: str, arch: str, folder: str, urls: tuple[str, ...], source: str) -> DatasetInfo:
    return DatasetInfo(
        name=name, kind="image", n_classes=10, arch=arch, format="idx", folder=folder,
        files=tuple(f"{folder}/{f}" for f in IDX_FILES), source=source, urls=urls,
    )


_ODDS_TITLES = {
    "arrhythmia": "Arrhythmia",
    "cardio": "Cardiotocography",
    "satellite": "Satellite",
    "satimage-2": "Satimage-2",
    "shuttle": "Shuttle",
    "thyroid": "Thyroid",
}


def _odds(name: str) -> DatasetInfo:
    return DatasetInfo(
        name=name, kind="tabular", n_classes=None, arch=name, format="odds-mat", folder="odds",
        files=(f"odds/{name}.mat",),
        source=(f"the original {name}.mat from the ODDS library, https://odds.cs.stonybrook.edu "
                f"(page '{_ODDS_TITLES[name]} dataset'); ODDS has no stable download URL, "
                "so it is never downloaded automatically"),
    )


# ADBench's "Classical" tabular sets present in the shared folder (file stems as ADBench names
# them; the four largest, 3_backdoor, 9_census, 13_fraud and 36_speech, are absent). Five of them
# (cardio, satellite, satimage-2, shuttle, thyroid) are ADBench's own preprocessing of ODDS sets:
# they are separate datasets, always named with the ``adbench/`` prefix.
ADBENCH_FOLDER = "adbench-classical"
ADBENCH_FILES: tuple[str, ...] = (
    "1_ALOI", "2_annthyroid", "4_breastw", "5_campaign", "6_cardio", "7_Cardiotocography", "8_celeba",
    "10_cover", "11_donors", "12_fault", "14_glass", "15_Hepatitis", "16_http", "17_InternetAds",
    "18_Ionosphere", "19_landsat", "20_letter", "21_Lymphography", "22_magic.gamma", "23_mammography",
    "24_mnist", "25_musk", "26_optdigits", "27_PageBlocks", "28_pendigits", "29_Pima", "30_satellite",
    "31_satimage-2", "32_shuttle", "33_skin", "34_smtp", "35_SpamBase", "37_Stamps", "38_thyroid",
    "39_vertebral", "40_vowels", "41_Waveform", "42_WBC", "43_WDBC", "44_Wilt", "45_wine", "46_WPBC",
    "47_yeast",
)


def adbench_name(stem: str) -> str:
    """``"7_Cardiotocography"`` -> ``"adbench/cardiotocography"``: the source, then ADBench's name."""
    return "adbench/" + stem.split("_", 1)[1].lower()


def _adbench(stem: str) -> DatasetInfo:
    # arch "mlp": the deep detectors size their MLPs from the number of features (Deep SAD's ODDS
    # sizes are only known for the six ODDS sets).
    return DatasetInfo(
        name=adbench_name(stem), kind="tabular", n_classes=None, arch="mlp", format="adbench-npz",
        folder=ADBENCH_FOLDER, files=(f"{ADBENCH_FOLDER}/{stem}.npz",),
        source=(f"{stem}.npz from ADBench's repository (https://github.com/Minqi824/ADBench, "
                "adbench/datasets/Classical/, commit 3dac822); it is never downloaded automatically"),
    )


ADBENCH_DATASETS: tuple[str, ...] = tuple(adbench_name(stem) for stem in ADBENCH_FILES)

DATASETS: dict[str, DatasetInfo] = {
    "mnist": _idx(
        "mnist", "mnist", "mnist",
        urls=("https://ossci-datasets.s3.amazonaws.com/mnist/",
              "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        source="the official MNIST files (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)",
    ),
    "fashion-mnist": _idx(
        "fashion-mnist", "fmnist", "fashion-mnist",
        urls=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        source=("the official Fashion-MNIST files "
                "(http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/)"),
    ),
    "cifar10": DatasetInfo(
        name="cifar10", kind="image", n_classes=10, arch="cifar10", format="cifar10-python",
        folder="cifar10",
        files=tuple(f"cifar10/cifar-10-batches-py/{b}" for b in CIFAR10_BATCHES),
        archive="cifar10/cifar-10-python.tar.gz",
        urls=("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
        source=("the official CIFAR-10 python version, "
                "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz (keep the .tar.gz, or "
                "extract it so that cifar10/cifar-10-batches-py/ holds the batches)"),
    ),
    "cifar10-jpeg": DatasetInfo(
        name="cifar10-jpeg", kind="image", n_classes=10, arch="cifar10",
        format="cifar10-jpeg-zip", folder="cifar10-jpeg",
        files=("cifar10-jpeg/cifar10-jpeg.zip",),
        source=("the project's lossy JPEG copy of CIFAR-10 (cifar10-jpeg.zip from the shared "
                "data folder, ../shared/data/cifar10-jpeg/); for exact results use the dataset "
                "'cifar10', which downloads the official files"),
        exact=False,
    ),
    **{name: _odds(name) for name in _ODDS_TITLES},
    **{adbench_name(stem): _adbench(stem) for stem in ADBENCH_FILES},
}


def get_info(name: str) -> DatasetInfo:
    """Registry lookup that answers an unknown name with the list of valid ones."""
    try:
        return DATASETS[name]
    except KeyError:
        valid = ", ".join(sorted(set(DATASETS) - set(ADBENCH_DATASETS)))
        adbench = ", ".join(n.removeprefix("adbench/") for n in ADBENCH_DATASETS)
        raise UnknownDatasetError(f"unknown dataset {name!r}; valid names: {valid}, and adbench/<name> for "
                                  f"ADBench's classical sets: {adbench}") from None
