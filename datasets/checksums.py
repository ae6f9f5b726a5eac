"""The one table of known checksums for every file the loaders read or download.

Keeping them in one place means a reviewer can compare the whole table against the
publishers' values at a glance, and no loader can carry a stale private copy.  Keys are paths relative to the data directory.

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
    # ADBench 'Classical' tabular sets (Minqi824/ADBench, commit 3dac822), byte for byte.
    "adbench-classical/1_ALOI.npz": Checksum(file_sha256="792d0b5bd1147bfc9574a1974f157b39fbd4cbed8ecd04cf983fd554498ed477"),
    "adbench-classical/2_annthyroid.npz": Checksum(file_sha256="e738f7c58a8740d2c4aac4c71ff49ce5e1d1aa16f44178135fc9c09df05fad1b"),
    "adbench-classical/4_breastw.npz": Checksum(file_sha256="4f37ce07dbc25ddad8178fdc6d664ab46d2d0000ee28c2787c3c7ff3c03ef9f6"),
    "adbench-classical/5_campaign.npz": Checksum(file_sha256="74dd4d0072d6c6f1aabab63bc102f9633454f32bb936fa9bcfbd38f9f2386bcd"),
    "adbench-classical/6_cardio.npz": Checksum(file_sha256="bc5009bde6930b4d298b594f31b34485a9a17210cff0e8fb00a8c3068b885a2d"),
    "adbench-classical/7_Cardiotocography.npz": Checksum(file_sha256="5ae84910430f05923e11b6f537243263977c9136949dabd891e3570aeec51e29"),
    "adbench-classical/8_celeba.npz": Checksum(file_sha256="1cadfdea14cd8d240eca715a70c09c88af8621d086a7478c63f602d97adef0b5"),
    "adbench-classical/10_cover.npz": Checksum(file_sha256="945a097c3542ae81a551bf1c06dcad78a755d94f84fcaf1d60687e42d1a656df"),
    "adbench-classical/11_donors.npz": Checksum(file_sha256="5824ec854465f2763b4bfe3da1ae9f25ed5433b5c6e265d42e37da4f82a58679"),
    "adbench-classical/12_fault.npz": Checksum(file_sha256="ec27301f9a4cf7c5d8b22c360cf37ddb043b7fb062465723dfd8b34e2771e5dd"),
    "adbench-classical/14_glass.npz": Checksum(file_sha256="aa7a8db1d475ba01a10488af454bc15220a3d5951b010b03b7020567d8152cdc"),
    "adbench-classical/15_Hepatitis.npz": Checksum(file_sha256="4a87a2f7d8013e5bfde63294fae61ec7a612322de72f338a7f9491749025ad98"),
    "adbench-classical/16_http.npz": Checksum(file_sha256="9d98710091551587f4740cfc851a6b064fff6319a337c2dc77ee6da4bcc2e02c"),
    "adbench-classical/17_InternetAds.npz": Checksum(file_sha256="bdd8ad5cf5bf2cb96cba53dde30d522d0f6a279083a8e2bc7efbac5981b04385"),
    "adbench-classical/18_Ionosphere.npz": Checksum(file_sha256="bca46cb0cfd1bf9ddef6cde5ad2215d54fb0189508d0d4c4eb98e788cad69001"),
    "adbench-classical/19_landsat.npz": Checksum(file_sha256="ba17e2158c07469597b89db49d3982c874c6b713ff6670721ddc88969da77987"),
    "adbench-classical/20_letter.npz": Checksum(file_sha256="f986d3da80cf1fa2aea83a5ebe73b7d4800e0d4c01fdd1ae074b58d20f10d039"),
    "adbench-classical/21_Lymphography.npz": Checksum(file_sha256="dad977b04f4ea65b78ccd0e9f76b45175bad605165b37e63f3cc177845e67037"),
    "adbench-classical/22_magic.gamma.npz": Checksum(file_sha256="0be375984d7af9ea7a63b12206c240840d8b7daa3607021c5fb8756407dd86f1"),
    "adbench-classical/23_mammography.npz": Checksum(file_sha256="a0308ac9712d78321073b1c2dc98dc37665c0f35c1cc33019416fe8f8d7de7ea"),
    "adbench-classical/24_mnist.npz": Checksum(file_sha256="be7706272325fdd3592c1be555ae1a82f916a2f8545f4f8cbaa548ab102cc44c"),
    "adbench-classical/25_musk.npz": Checksum(file_sha256="2ed3f4392197b76a1e59116ff880c7720a4b026cf4842073a53b56fdea265017"),
    "adbench-classical/26_optdigits.npz": Checksum(file_sha256="60de17a375a278ba220a7849727d998aa02b5e2f9fd17732a004bba28de4656e"),
    "adbench-classical/27_PageBlocks.npz": Checksum(file_sha256="10a9b4d5bb5d3b9083caab4c4062f665610eada703c3d927bf7c34b1f2d0d223"),
    "adbench-classical/28_pendigits.npz": Checksum(file_sha256="c4936b89dcdad59d303020e492f763a0f54170080d787c77497609acbb9c2d79"),
    "adbench-classical/29_Pima.npz": Checksum(file_sha256="215454bb263a2f040945c9ea7bd7f06f1e89a61a3143bdb6f196e3887e801a7d"),
    "adbench-classical/30_satellite.npz": Checksum(file_sha256="1f048f5686f1b8c16a227fdfa3c81a62cd9a92715714a6b24c69b1c5ad96b46e"),
    "adbench-classical/31_satimage-2.npz": Checksum(file_sha256="1b056e357f801b8b20c3f380a30224a3c4088d7ed764ec5a24828dc9b1918d6f"),
    "adbench-classical/32_shuttle.npz": Checksum(file_sha256="26900b0f6be45d9ddb7a402c9b2f956ceda42d23a8ca4cf4406b8bc1352823d1"),
    "adbench-classical/33_skin.npz": Checksum(file_sha256="d02aa01ffc1b6bf2b8b1ac250c90e8a8eacd0cefc962940ed5cc4bf5deac9c95"),
    "adbench-classical/34_smtp.npz": Checksum(file_sha256="d2569fc9bc12115419e3f5b37d19921e10e6c26e5ad1e61064cfb0fbc402dfdd"),
    "adbench-classical/35_SpamBase.npz": Checksum(file_sha256="d0c46c7928e43f6496bcd06e09de0b70f6bc8143792dfa0a43f450263d254e9b"),
    "adbench-classical/37_Stamps.npz": Checksum(file_sha256="99fe739447284f613fa54bf2dccdb51c5120175ce6260adec6dad77576c42509"),
    "adbench-classical/38_thyroid.npz": Checksum(file_sha256="8de161b3f235b7647bb0b39a836d983ff61d67bf234edac461da2d71e889cb87"),
    "adbench-classical/39_vertebral.npz": Checksum(file_sha256="0816286f92b96fe6867664a41a031ac7228dcfbf1a5feefe50ca3883b2e9073d"),
    "adbench-classical/40_vowels.npz": Checksum(file_sha256="4bfc4244d1c882773bbbc50d4a5db5e52276e53506e46b2d45e02d074cfcb1b6"),
    "adbench-classical/41_Waveform.npz": Checksum(file_sha256="6c9d867337ad1a2f8372c1d27f4c032f0401237e2041b7c45f00de8d319ff30f"),
    "adbench-classical/42_WBC.npz": Checksum(file_sha256="650f9dcb129248f67a291be0974f533ef259fcbde50fce5c8ad2a1cb2652d03b"),
    "adbench-classical/43_WDBC.npz": Checksum(file_sha256="78d4606a1ab516f5b60b00c196497f3bbd6bd5e4548fd04cf5f2475209b34b85"),
    "adbench-classical/44_Wilt.npz": Checksum(file_sha256="c70b72aa611ec87b20efb400943ef3ce4f8bf7aa58fcef825fbd28cc5cee3cc9"),
    "adbench-classical/45_wine.npz": Checksum(file_sha256="d5ad8965d92cc57122fe1e6572bb301adbaf795b3e166d187ae00a704d8f6e20"),
    "adbench-classical/46_WPBC.npz": Checksum(file_sha256="68a6d67242643855713bcdad07d89ecc472bd00000dccc17ba87916eb2693d19"),
    "adbench-classical/47_yeast.npz": Checksum(file_sha256="bbb15c873d78a4f6a589f46d0f75814595e2282d2ae7ce7779c750f276c3770d"),
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
