"""``image-stream``: WebDataset-style tar shards and image folders read one pass at a time, in
order, split over readers, resumed mid-pass without decoding what was already trained on; SEER
pretrains on it from the CLI and the encoder is then scored on labelled digits."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import torch
from selfsup.cli import main
from selfsup.errors import DatasetError
from selfsup.testing import DatasetContract
from selfsup_vision.datasets import stream as stream_module
from selfsup_vision.datasets.stream import ImageStreamSource
from selfsup_vision.ssl_configs import ImageStreamConfig
from torchvision.io import encode_png

SHARDS, PER_SHARD = 4, 25


def _digit_images() -> torch.Tensor:
    from sklearn.datasets import load_digits

    return torch.tensor(load_digits().images[: SHARDS * PER_SHARD] * 255 / 16).round().to(torch.uint8)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(root: Path, images: torch.Tensor, shards: int = SHARDS) -> Path:
    """``shard-000k.tar`` with ``<key>.png`` and ``<key>.cls`` members, WebDataset's layout."""
    root.mkdir(parents=True, exist_ok=True)
    per = len(images) // shards
    for shard in range(shards):
        with tarfile.open(root / f"shard-{shard:04d}.tar", "w") as tar:
            for i in range(shard * per, (shard + 1) * per):
                _add(tar, f"{i:06d}.png", encode_png(images[i][None]).numpy().tobytes())
                _add(tar, f"{i:06d}.cls", b"3")
    return root


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return _digit_images()


@pytest.fixture
def shards(tmp_path, images) -> Path:
    return write_shards(tmp_path / "shards", images)


def _source(root: Path, **config) -> ImageStreamSource:
    return ImageStreamSource(ImageStreamConfig(root=str(root), channels=1, image_size=8, **config))


def _rows(images: torch.Tensor, stream) -> list[int]:
    """Which of ``images`` each streamed item is (decoding is lossless for PNG)."""
    flat = images.reshape(len(images), -1).float()
    found = []
    for item in stream:
        pixels = ((item["x"] + 1.0) * 127.5).round().reshape(1, -1)
        found.append(int((flat - pixels).abs().sum(1).argmin()))
    return found


def test_a_pass_reads_every_image_once_shards_shuffled_items_in_order(shards, images) -> None:
    data = _source(shards, shard_seed=3)
    stream = data.split("train")
    stream.set_position(epoch=0, batches=0, batch_size=10)
    rows = _rows(images, stream)
    order = [int(p.stem.split("-")[1]) for p in stream.shard_order(0)]
    assert rows == [shard * PER_SHARD + i for shard in order for i in range(PER_SHARD)]
    assert order != sorted(order)  # shuffled with seed 3 + pass 0
    stream.set_position(epoch=1, batches=0, batch_size=10)
    assert [int(p.stem.split("-")[1]) for p in stream.shard_order(1)] != order  # another order in pass 1
    assert sorted(_rows(images, stream)) == list(range(SHARDS * PER_SHARD))


def test_a_resumed_pass_skips_the_trained_batches_without_decoding_them(shards, images, monkeypatch) -> None:
    stream = _source(shards).split("train")
    stream.set_position(epoch=2, batches=0, batch_size=10)
    whole = _rows(images, stream)
    decoded = []
    real_decode = stream_module._decode
    monkeypatch.setattr(stream_module, "_decode", lambda data, **kw: decoded.append(1) or real_decode(data, **kw))
    stream.set_position(epoch=2, batches=3, batch_size=10)
    assert _rows(images, stream) == whole[30:]
    assert len(decoded) == len(whole) - 30


def test_readers_split_the_shards_between_dataloader_workers(shards, images) -> None:
    data = _source(shards)
    stream = data.split("train")
    stream.set_position(epoch=0, batches=0, batch_size=5)
    loader = torch.utils.data.DataLoader(stream, batch_size=5, num_workers=2, collate_fn=data.collate)
    batches = [_rows(images, ({"x": x} for x in batch["x"])) for batch in loader]
    rows = [row for batch in batches for row in batch]
    assert sorted(rows) == list(range(SHARDS * PER_SHARD))  # each image once: no reader reads a shard twice
    order = [int(p.stem.split("-")[1]) for p in stream.shard_order(0)]
    assert {r // PER_SHARD for r in batches[0]} == {order[0]} and {r // PER_SHARD for r in batches[1]} == {order[1]}


def test_a_resumed_pass_with_workers_reads_exactly_the_batches_not_yet_trained_on(shards, images) -> None:
    data = _source(shards)
    stream = data.split("train")

    def batches(skip: int) -> list[tuple[int, ...]]:
        stream.set_position(epoch=0, batches=skip, batch_size=5)
        loader = torch.utils.data.DataLoader(stream, batch_size=5, num_workers=2, collate_fn=data.collate)
        return [tuple(_rows(images, ({"x": x} for x in batch["x"]))) for batch in loader]

    whole, resumed = batches(0), batches(3)
    # the workers' batches come in turn from worker 0, so the order of the first ones may differ
    assert sorted(resumed) == sorted(whole[3:])


def test_more_readers_than_shards_and_a_broken_tar_are_named_errors(tmp_path, images) -> None:
    root = write_shards(tmp_path / "one", images[:20], shards=1)
    data = _source(root)
    loader = torch.utils.data.DataLoader(data.split("train"), batch_size=4, num_workers=2, collate_fn=data.collate)
    with pytest.raises(DatasetError, match=r"1 shard\(s\) for 2 readers"):
        next(iter(loader))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "shard-0000.tar").write_bytes(b"not a tar file at all" * 40)
    with pytest.raises(DatasetError, match=r"shard-0000.tar could not be read as a tar file"):
        _source(tmp_path / "bad")


def test_undecodable_members_are_skipped_and_counted_and_nothing_is_extracted(tmp_path, images) -> None:
    root = tmp_path / "shards"
    root.mkdir()
    with tarfile.open(root / "shard-0000.tar", "w") as tar:
        _add(tar, "000000.png", encode_png(images[0][None]).numpy().tobytes())
        _add(tar, "000001.png", b"\x89PNG but not really")
        _add(tar, "../../escaped.png", encode_png(images[1][None]).numpy().tobytes())  # read, never written
        link = tarfile.TarInfo("000002.png")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.warns(UserWarning, match="skipped shard-0000.tar:000001.png"):
        data = _source(root)
    assert data.info["skipped"] == 1 and data.info["sizes"]["test"] == 2  # the link is not an image file
    assert not (tmp_path.parent / "escaped.png").exists() and not (tmp_path / "escaped.png").exists()


def test_image_folders_are_shards_and_images_are_resized_and_centre_cropped(tmp_path) -> None:
    root = tmp_path / "folders"
    for shard in ("a", "b"):
        (root / shard / "nested").mkdir(parents=True)
        wide = torch.zeros(1, 10, 20, dtype=torch.uint8)
        wide[:, :, 5:15] = 255  # a white centre square: left and right borders are cropped away
        (root / shard / "nested" / "img.png").write_bytes(encode_png(wide).numpy().tobytes())
    (root / "top.png").write_bytes(encode_png(torch.full((1, 8, 8), 7, dtype=torch.uint8)).numpy().tobytes())
    data = _source(root, shuffle_shards=False)
    assert [p.name for p in data.split("train").shards] == ["folders", "a", "b"]
    test = data.split("test").images
    assert test.shape == (3, 1, 8, 8) and int(test[0].max()) == 7
    assert test[1].float().mean() > 240  # the 10x20 image's centre 10x10, resized to 8x8


def test_bad_settings_are_refused_before_reading(tmp_path, shards) -> None:
    with pytest.raises(DatasetError, match="needs data.root"):
        ImageStreamSource(ImageStreamConfig())
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no \\*.tar shards and no image folders"):
        _source(tmp_path / "empty")
    with pytest.raises(DatasetError, match="data.channels=2"):
        ImageStreamSource(ImageStreamConfig(root=str(shards), channels=2))


class TestImageStreamContract(DatasetContract):
    modality = "vision"
    dataset = "image-stream"

    @pytest.fixture(autouse=True)
    def _shards(self, tmp_path) -> None:
        self.dataset_config = {"root": str(write_shards(tmp_path / "shards", _digit_images())), "channels": 1, "image_size": 8}


@pytest.mark.slow
def test_seer_pretrains_on_the_stream_and_is_scored_on_labelled_digits(tmp_path, shards, capsys) -> None:
    run_dir = tmp_path / "run"
    status = main(["pretrain", "modality=vision", "objective=seer", "dataset=image-stream", f"data.root={shards}",
                   "data.channels=1", "data.image_size=16", "trainer.max_steps=4", "trainer.batch_size=16",
                   "objective_config.prototypes=32", "trainer.progress=off", f"run_dir={run_dir}"])
    assert status == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["evaluations"]["embedding-stats"]["dataset"] == "image-stream"
    status = main(["evaluate", f"run_dir={run_dir}", "dataset=digits", "evaluators=[knn]"])
    assert status == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["run"]["dataset"] == "image-stream"  # the run is still the stream's
    assert set(metrics["evaluations"]) == {"embedding-stats", "knn@digits"}
    assert metrics["evaluations"]["knn@digits"]["dataset"] == "digits"
    assert metrics["evaluations"]["knn@digits"]["pretrained"]["accuracy"] > 0.3  # 10 classes: well above chance
    assert "knn@digits/accuracy" in capsys.readouterr().out
