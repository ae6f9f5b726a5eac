"""The one table of known checksums for every file the loaders read or download.

Keeping them in one place means a reviewer can compare the whole table against the
publishers' values (and ``../shared/data/README.md``) at a glance, and no loader can carry a
stale private copy.  Keys are paths relative to the data directory.

Which value is checked depends on the file type, because the formats fail differently:

* IDX ``.gz`` files are checked by the sha256 of the *uncompressed payload*.  The gzip wrapper
  is not part of the data (Debian re-stamped the Fashion-MNIST headers, so the ``.gz`` bytes
  differ while pixels and labels are identical); the payload is what must be exact.
* Every other local file is checked by the hash of the file itself.
* ``published`` is the hash of the file as served at the official URL, handed to pooch so a
  download is verified before it is kept.  It can differ from what sits in a shared folder
  (Fashion-MNIST again), which is why it is a separate field.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Checksum:
    """Known digests of one file; fields that are unknown or unused stay ``None``."""

    file_sha256: str | None = None
    file_md5: str | None = None
    payload_sha256: str | None = None
    published: str | None = None  # pooch form, "md5:..." or "sha256:..."

    @property
    def download_hash(self) -> str | None:
        """Hash in pooch's ``algo:hex`` form for verifying a fresh download."""
        if self.published:
            return self.published
        if self.file_sha256:
            return f"sha256:{self.file_sha256}"
        if self.file_md5:
            return f"md5:{self.file_md5}"
        return None


CHECKSUMS: dict[str, Checksum] = {
    # MNIST: the shared copies are byte-identical to the official files, so the file sha256
    # doubles as the download hash; loading checks the payload like every IDX file.
    "mnist/train-images-idx3-ubyte.gz": Checksum(
        file_sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        payload_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "mnist/train-labels-idx1-ubyte.gz": Checksum(
        file_sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        payload_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "mnist/t10k-images-idx3-ubyte.gz": Checksum(
        file_sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        payload_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "mnist/t10k-labels-idx1-ubyte.gz": Checksum(
        file_sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        payload_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
    # Fashion-MNIST: published = Zalando's official md5 of the .gz at the download URL.
    "fashion-mnist/train-images-idx3-ubyte.gz": Checksum(
        payload_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        published="md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "fashion-mnist/train-labels-idx1-ubyte.gz": Checksum(
        payload_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        published="md5:25c81989df183df01b3e8a0aad5dffbe",
    ),
    "fashion-mnist/t10k-images-idx3-ubyte.gz": Checksum(
        payload_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        published="md5:bef4ecab320f06d8554ea6380940ec79",
    ),
    "fashion-mnist/t10k-labels-idx1-ubyte.gz": Checksum(
        payload_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
        published="md5:bb300cfdad3c16e7a12a480ee83cd310",
    ),
    # ODDS .mat files (the original files from odds.cs.stonybrook.edu).
    "odds/arrhythmia.mat": Checksum(
        file_sha256="e4d47e499591ae31e5d7f0cd983367092353eac240f48e14c9b36457edb3460d"
    ),
    "odds/cardio.mat": Checksum(
        file_sha256="5e568b6a73711012c481fa6cc984ab9c68e9a4fa44d6aeb3b43efa381c3f695b"
    ),
    "odds/satellite.mat": Checksum(
        file_sha256="6feac3112b9c14e1c3e60afc437f2f3d29dc1000119c9f950c628078778d6aa0"
    ),
    "odds/satimage-2.mat": Checksum(
        file_sha256="95c37a07cea2cb201f6900d14f521510e10b6b2f0074c06ac46d3157440ec67b"
    ),
    "odds/shuttle.mat": Checksum(
        file_sha256="b6e396c92354d5dcf5036901e36dc58e2913f2d1a5e138c35a2bedf9c69db899"
    ),
    "odds/thyroid.mat": Checksum(
        file_sha256="49155d7861b977e90808faf68343ff67a67f63090c2744d514dbb67ac68e7e33"
    ),
    # The project's lossy JPEG copy of CIFAR-10 (never reported as CIFAR-10).
    "cifar10-jpeg/cifar10-jpeg.zip": Checksum(
        file_sha256="10f42ee4e798813d0f46ad07148ce921a4ff44335570fd8ae8bbfda81b22649e"
    ),
    # Official CIFAR-10 python version: the archive and the extracted batches, with the md5
    # values published by the authors (the same ones torchvision checks).
    "cifar10/cifar-10-python.tar.gz": Checksum(file_md5="c58f30108f718f92721af3b95e74349a"),
    "cifar10/cifar-10-batches-py/data_batch_1": Checksum(
        file_md5="c99cafc152244af753f735de768cd75f"
    ),
    "cifar10/cifar-10-batches-py/data_batch_2": Checksum(
        file_md5="d4bba439e000b95fd0a9bffe97cbabec"
    ),
    "cifar10/cifar-10-batches-py/data_batch_3": Checksum(
        file_md5="54ebc095f3ab1f0389bbae665268c751"
    ),
    "cifar10/cifar-10-batches-py/data_batch_4": Checksum(
        file_md5="634d18415352ddfa80567beed471001a"
    ),
    "cifar10/cifar-10-batches-py/data_batch_5": Checksum(
        file_md5="482c414d41f54cd18b22e5b47cb7c3cb"
    ),
    "cifar10/cifar-10-batches-py/test_batch": Checksum(
        file_md5="40351d587109b95175f43aff81a1287e"
    ),
}


def checksum_for(relpath: str) -> Checksum:
    """Look up a file's entry; a missing entry is a programming error, not a data problem."""
    try:
        return CHECKSUMS[relpath]
    except KeyError:
        raise KeyError(f"no checksum recorded for {relpath!r} in datasets/checksums.py") from None
