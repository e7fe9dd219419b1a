"""The photo models Gen2Res knows how to download: where each file is, what it is for, its
licence and the checksum it is pinned to. Data only; :mod:`.models` downloads and installs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogueEntry:
    """A photo model the app knows how to download, pinned by its checksum."""

    name: str
    title: str
    task: str  # one of learned.TASKS
    scale: int
    filename: str
    url: str
    size: int | None
    sha256: str | None
    md5: str | None  # used only when no sha256 is known
    licence: str
    source_page: str
    notes: str = ""
    # set when the file ships inside a zip archive at ``url``: only this member is fetched
    archive_member: str | None = None


# Official release files. The sizes and checksums come from public catalogues of these
# releases (the projects' own model zoos and downstream apps that pin them); they could
# not be re-checked against the files here, which has no network. A file that does not
# match is refused and removed after download, never installed.
CATALOGUE: dict[str, CatalogueEntry] = {
    e.name: e
    for e in (
        CatalogueEntry(
            name="lama",
            title="Big LaMa inpainting (fills scratches and holes)",
            task="inpaint",
            scale=1,
            filename="big-lama.pt",
            url="https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt",
            size=None,
            sha256=None,  # public sources disagree; the md5 is the one IOPaint pins
            md5="e3aa4aaa15225a33ec84f9f4bc47e500",
            licence="Apache-2.0",
            source_page="https://github.com/advimman/lama",
            notes="TorchScript file; only its weights are read.",
        ),
        CatalogueEntry(
            name="scunet",
            title="SCUNet real-photo denoising (PSNR)",
            task="denoise",
            scale=1,
            filename="scunet_color_real_psnr.pth",
            url="https://github.com/cszn/KAIR/releases/download/v1.0/scunet_color_real_psnr.pth",
            size=71982841,
            sha256="fa78899ba2caec9d235a900e91d96c689da71c42029230c2028b00f09f809c2e",
            md5=None,
            licence="Apache-2.0",
            source_page="https://github.com/cszn/SCUNet",
        ),
        CatalogueEntry(
            name="drunet",
            title="DRUNet colour denoiser (strength sets its noise level)",
            task="denoise",
            scale=1,
            filename="drunet_color.pth",
            url="https://github.com/cszn/KAIR/releases/download/v1.0/drunet_color.pth",
            size=None,
            sha256="479abe3c5327dfd10ff54a80ec7d4098ca80752a5c9492cdff31cee430bec4b4",
            md5=None,
            licence="MIT",
            source_page="https://github.com/cszn/DPIR",
            notes="Released with KAIR (MIT).",
        ),
        CatalogueEntry(
            name="fbcnn",
            title="FBCNN colour JPEG artefact removal",
            task="jpeg",
            scale=1,
            filename="fbcnn_color.pth",
            url="https://github.com/jiaxi-jiang/FBCNN/releases/download/v1.0/fbcnn_color.pth",
            size=287755111,
            sha256="8b0e4ef23d59cf7ac934a342cb31a17619e4fa4a0b3374a9d78c5174312387e8",
            md5=None,
            licence="Apache-2.0",
            source_page="https://github.com/jiaxi-jiang/FBCNN",
        ),
        CatalogueEntry(
            name="realesrgan-general-x4v3",
            title="Real-ESRGAN general x4 v3 (small and quick, good on a CPU)",
            task="upscale",
            scale=4,
            filename="realesr-general-x4v3.pth",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/"
            "realesr-general-x4v3.pth",
            size=4885111,
            sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
            md5=None,
            licence="BSD-3-Clause",
            source_page="https://github.com/xinntao/Real-ESRGAN",
        ),
        CatalogueEntry(
            name="realesrgan-x2",
            title="Real-ESRGAN x2plus",
            task="upscale",
            scale=2,
            filename="RealESRGAN_x2plus.pth",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.1/"
            "RealESRGAN_x2plus.pth",
            size=67061725,
            sha256="49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
            md5=None,
            licence="BSD-3-Clause",
            source_page="https://github.com/xinntao/Real-ESRGAN",
        ),
        CatalogueEntry(
            name="realesrgan-x4",
            title="Real-ESRGAN x4plus",
            task="upscale",
            scale=4,
            filename="RealESRGAN_x4plus.pth",
            url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.1.0/"
            "RealESRGAN_x4plus.pth",
            size=67040989,
            sha256="4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            md5=None,
            licence="BSD-3-Clause",
            source_page="https://github.com/xinntao/Real-ESRGAN",
        ),
        CatalogueEntry(
            name="bopbtl-scratch",
            title="Scratch and crack detector from Bringing Old Photos Back to Life (learned "
            "on real old photos)",
            task="damage",
            scale=1,
            filename="FT_Epoch_latest.pt",
            url="https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life/releases/"
            "download/v1.0/global_checkpoints.zip",
            size=None,  # published only as "452 MB"; the archive's index gives it exactly
            # sha256 of the member's bytes as pinned, for this archive URL and member path,
            # by three unrelated public projects that extract it the same way (an ONNX
            # export script, a model catalogue and a restoration app; found by a code
            # search on the digest). Not re-checked here (no network).
            sha256="b2d7ab04e9b3885c6b1991bb7a0b823129dd6e3ac078a9fd059ebd2a7ba59a95",
            md5=None,
            licence="MIT",
            source_page="https://github.com/microsoft/Bringing-Old-Photos-Back-to-Life",
            notes="Only the detector (~450 MB with its training state) is read out of the "
            "authors' 2 GB global_checkpoints.zip; its CRC32 from the archive and the pinned "
            "sha256 are both checked.",
            archive_member="checkpoints/detection/FT_Epoch_latest.pt",
        ),
        # DDColor (Kang et al., ICCV 2023). Size and sha256 as pinned, for these URLs, by a
        # public install script that downloads and checks them (found by a code search on
        # the file names; it notes that Hugging Face publishes the digests). Not re-checked
        # here (no network). The tiny model (ddcolor_paper_tiny.pth, ConvNeXt-T, ~220 MB)
        # has no digest in any public source found, so it is not offered for download: it
        # can be imported as a file (Models -> Import).
        CatalogueEntry(
            name="ddcolor",
            title="DDColor colouriser (adds colour to black-and-white photos)",
            task="colour",
            scale=1,
            filename="ddcolor_modelscope.pth",
            url="https://huggingface.co/piddnad/DDColor-models/resolve/main/ddcolor_modelscope.pth",
            size=911950059,
            sha256="17c460d7e55b32a598370621d77173be59e03c24b0823f06821db23a50c263ce",
            md5=None,
            licence="Apache-2.0",
            source_page="https://github.com/piddnad/DDColor",
            notes="The authors' default model (DDColor-L, ConvNeXt-L encoder, ImageNet with "
            "BigColor's data cleaning); about 230 M parameters.",
        ),
        CatalogueEntry(
            name="ddcolor-artistic",
            title="DDColor artistic colouriser (softer, fewer colour blotches)",
            task="colour",
            scale=1,
            filename="ddcolor_artistic.pth",
            url="https://huggingface.co/piddnad/DDColor-models/resolve/main/ddcolor_artistic.pth",
            size=911950059,
            sha256="a591ee5beedad36de703d8977e92d0c30c1eedc6453fd1b300f3b460842a23a9",
            md5=None,
            licence="Apache-2.0",
            source_page="https://github.com/piddnad/DDColor",
            notes="DDColor-L trained on ImageNet and the authors' private artistic images, "
            "without the colourfulness loss.",
        ),
    )
}
