"""``image-stream``: uncurated images streamed from tar shards or image folders, one pass at a
time, without an index of the whole set (SEER's setting: `facebookresearch/vissl:projects/SEER`
pretrains on random, uncurated images seen about once).

Shards are the ``*.tar`` files directly under ``data.root`` (the WebDataset layout: members
``<key>.<ext>``; image members are read, others such as ``<key>.cls`` are ignored), or else the
root's sub-folders, each walked in sorted order (the root's own image files form one more
shard). Only the shard names are listed up front. A tar shard is read with the standard
library's ``tarfile`` in stream mode (``r|*``: members in order, nothing extracted to disk,
links and other non-file members skipped); images are decoded with
``torchvision.io.decode_image``, converted to ``data.channels``, resized (shorter side) and
centre-cropped to ``data.image_size``. A member that does not decode is skipped and counted
(``info["skipped"]`` counts those among the test images; a ``UserWarning`` names the first).

Pass ``e`` takes the shards in an order shuffled with ``shard_seed + e``; reader ``r`` of ``R``
(``R`` = processes under ``torchrun`` × DataLoader workers) reads shards ``r, r + R, ...`` of
it. The trainer tells the stream where a resumed run stopped (:meth:`ImageStream.set_position`):
each reader skips the items of the batches it had produced, without decoding them. With several
DataLoader workers the resumed pass reads exactly the batches not yet trained on, though the
first few may come in another order (the DataLoader takes its workers in turn from the first).
Give every reader the same number of images (equal shards) so that the passes of all ranks stay
aligned: a checkpoint holds rank 0's position.
"""

from __future__ import annotations

import itertools
import os
import tarfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from selfsup.errors import DatasetError
from selfsup.interfaces import Batch, DataSource
from selfsup.tasks import declare_task

from ..ssl_configs import ImageStreamConfig
from .folder import IMAGE_SUFFIXES
from .source import ImageSplit, to_channels, to_unit_range

__all__ = ["ImageStream", "ImageStreamSource", "find_shards"]


def find_shards(root: Path) -> list[Path]:
    """The ``*.tar`` files under ``root``, or else its sub-folders (and ``root`` itself when it
    holds image files), sorted by name."""
    tars = sorted(p for p in root.glob("*.tar") if p.is_file())
    if tars:
        return tars
    shards = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in root.iterdir()):
        shards.insert(0, root)
    return shards


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def _shard_items(shard: Path, *, recursive: bool) -> Iterator[tuple[str, bytes | None]]:
    """``(name, bytes)`` of each image in the shard, in order (``None``: a member without data)."""
    if shard.is_file():
        try:
            with tarfile.open(shard, mode="r|*") as archive:  # a stream: members in order, no index
                for member in archive:
                    if member.isfile() and _is_image(member.name):
                        file = archive.extractfile(member)
                        yield f"{shard.name}:{member.name}", file.read() if file is not None else None
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DatasetError(
                f"image-stream: shard {shard} could not be read as a tar file ({exc}). Re-create it or move it out of data.root."
            ) from exc
        return
    for folder, subfolders, files in os.walk(shard):
        subfolders[:] = sorted(subfolders) if recursive else []  # the root's shard: its own files only
        for name in sorted(files):
            if _is_image(name):
                path = Path(folder) / name
                yield str(path), path.read_bytes()


def _decode(data: bytes, *, channels: int, image_size: int) -> torch.Tensor | None:
    """uint8 ``[C, S, S]``, or ``None`` when the bytes are not an image torchvision decodes."""
    from torchvision.io import ImageReadMode, decode_image
    from torchvision.transforms.v2 import functional as tvf

    try:
        image = decode_image(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED)
    except (RuntimeError, ValueError):
        return None
    if image.ndim == 4:  # animated GIF: first frame
        image = image[0]
    image = to_channels(image.unsqueeze(0), channels)
    image = tvf.center_crop(tvf.resize(image, image_size, antialias=True), [image_size, image_size])
    return image[0].contiguous()


def _reader() -> tuple[int, int]:
    """``(index, count)`` of this reader among every process's DataLoader workers."""
    rank, world = 0, 1
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        rank, world = torch.distributed.get_rank(), torch.distributed.get_world_size()
    info = torch.utils.data.get_worker_info()
    worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * workers + worker, world * workers


class ImageStream(torch.utils.data.IterableDataset):
    """One pass over the shards per ``iter()``: items ``{"x": float32 [C, S, S] in [-1, 1]}``."""

    def __init__(self, root: Path, shards: list[Path], config: ImageStreamConfig) -> None:
        self.root, self.shards, self.config = root, shards, config
        self.epoch, self.batches, self.batch_size = 0, 0, 1
        #: Members that did not decode, in this process (a worker counts its own).
        self.skipped = 0

    def set_position(self, *, epoch: int, batches: int, batch_size: int) -> None:
        """The next pass is pass ``epoch``, after its first ``batches`` batches of ``batch_size``."""
        self.epoch, self.batches, self.batch_size = epoch, batches, batch_size

    def shard_order(self, epoch: int) -> list[Path]:
        """The shards of pass ``epoch``, all readers together."""
        order = list(self.shards)
        if self.config.shuffle_shards:
            permutation = torch.randperm(len(order), generator=torch.Generator().manual_seed(self.config.shard_seed + epoch))
            order = [order[i] for i in permutation.tolist()]
        return order

    def __iter__(self) -> Iterator[Batch]:
        for image in self.images():
            yield {"x": to_unit_range(image)}

    def images(self) -> Iterator[torch.Tensor]:
        """This reader's uint8 ``[C, S, S]`` images of the pass set by :meth:`set_position`."""
        reader, readers = _reader()
        if readers > len(self.shards):
            raise DatasetError(
                f"image-stream: {len(self.shards)} shard(s) for {readers} readers (processes × trainer.num_workers): "
                "a reader would get no data. Split the images into at least as many shards, or use fewer workers."
            )
        info = torch.utils.data.get_worker_info()
        workers, worker = (info.num_workers, info.id) if info is not None else (1, 0)
        # the DataLoader takes batches from its workers in turn: this worker made every workers-th
        own_batches = max(0, (self.batches - worker + workers - 1) // workers)
        skip = own_batches * self.batch_size
        for shard in self.shard_order(self.epoch)[reader::readers]:
            for name, data in _shard_items(shard, recursive=shard != self.root):
                if skip > 0:  # already trained on before the resume: not decoded
                    skip -= 1
                    continue
                image = _decode(data, channels=self.config.channels, image_size=self.config.image_size) if data else None
                if image is None:
                    self.skipped += 1
                    if self.skipped == 1:
                        warnings.warn(f"image-stream: skipped {name}: not an image torchvision can decode.", UserWarning, stacklevel=2)
                    continue
                yield image


class ImageStreamSource(DataSource):
    """``train``: the :class:`ImageStream`; ``test``: its first ``data.test_images`` images, decoded once."""

    splits = ("train", "test")

    def __init__(self, config: ImageStreamConfig) -> None:
        if config.root is None:
            raise DatasetError("image-stream needs data.root: a folder of *.tar shards or of image folders.")
        root = Path(config.root).expanduser()
        if not root.is_dir():
            raise DatasetError(f"image-stream: data.root '{root}' is not a folder. Point data.root at the folder of shards.")
        if config.image_size < 4:
            raise DatasetError(f"data.image_size={config.image_size} is too small. Use a side of at least 4, e.g. 32.")
        if config.channels not in (1, 3):
            raise DatasetError(f"data.channels={config.channels} is not supported. Use 1 (grayscale) or 3 (RGB).")
        if config.test_images < 1:
            raise DatasetError(f"data.test_images={config.test_images} must be >= 1, e.g. data.test_images=512.")
        shards = find_shards(root)
        if not shards:
            raise DatasetError(
                f"image-stream: no *.tar shards and no image folders under '{root}'. "
                "Point data.root at a folder of WebDataset tar shards or of image folders."
            )
        self.stream = ImageStream(root, shards, config)
        first = ImageStream(root, shards, ImageStreamConfig(**{**vars(config), "shuffle_shards": False}))
        test = list(itertools.islice(first.images(), config.test_images))
        if not test:
            raise DatasetError(f"image-stream: no readable images in the shards under '{root}'. Check the files' formats.")
        self._test = ImageSplit(torch.stack(test), None)
        self.info = {
            "name": "image-stream",
            "task": "unlabelled",
            "channels": int(config.channels),
            "image_size": int(config.image_size),
            "height": int(config.image_size),
            "width": int(config.image_size),
            "shards": len(shards),
            "root": str(root),
            "skipped": first.skipped,
            "sizes": {"test": len(test)},
        }
        declare_task(self.info, "none")

    def preprocessing_state(self) -> dict[str, int]:
        """The channels and size new images are converted to (``selfsup embed``)."""
        return {key: self.info[key] for key in ("channels", "height", "width")}

    def split(self, name: str) -> torch.utils.data.Dataset:
        if name == "train":
            return self.stream
        if name == "test":
            return self._test
        raise KeyError(name)
