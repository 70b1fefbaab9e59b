"""Vision datasets on the real files (when present) and on small files written in the real formats."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import CIFAR_JPG_DIR, MNIST_DIR, needs_cifar_jpg, needs_mnist
from selfsup_vision_fixtures import write_cifar10, write_cifar100, write_jpeg, write_mnist, write_png

from selfsup.errors import DatasetError
from selfsup.testing import DatasetContract
from selfsup_vision.configs import CifarConfig, DigitsConfig, IdxConfig, ImageFolderConfig
from selfsup_vision.datasets.cifar import cifar10, cifar100
from selfsup_vision.datasets.digits import Digits
from selfsup_vision.datasets.folder import ImageFolder
from selfsup_vision.datasets.idx import mnist, read_idx


def _batch(source, split="train", rows=4):
    return source.split(split).__getitems__(list(range(rows)))


# -- MNIST IDX ---------------------------------------------------------------------


@needs_mnist
def test_real_mnist_test_split_is_read_and_carved():
    source = mnist(IdxConfig(root=str(MNIST_DIR), val_fraction=0.1, test_fraction=0.2))
    assert source.info["sizes"] == {"train": 7000, "test": 2000, "val": 1000}
    assert source.info["channels"] == 1 and source.info["image_size"] == 28 and source.info["num_classes"] == 10
    batch = _batch(source, rows=64)
    assert batch["x"].shape == (64, 1, 28, 28) and batch["x"].dtype == torch.float32
    assert batch["x"].min() == -1.0 and batch["x"].max() == 1.0  # MNIST uses the full 0..255 range
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels[:8].tolist() == [7, 2, 1, 0, 4, 1, 4, 9]  # the official first labels
    all_labels = torch.cat([source.split(s).labels for s in ("train", "val", "test")])
    assert torch.equal(torch.bincount(all_labels), torch.from_numpy(np.bincount(labels)))


@pytest.mark.parametrize("compress", [True, False])
def test_idx_train_and_test_pairs(tmp_path, compress):
    rng = np.random.default_rng(0)
    train, test = rng.integers(0, 256, (12, 28, 28)), rng.integers(0, 256, (5, 28, 28))
    write_mnist(tmp_path, "train", train, np.arange(12) % 10, compress=compress)
    write_mnist(tmp_path, "t10k", test, np.arange(5), compress=compress)
    source = mnist(IdxConfig(root=str(tmp_path), val_fraction=0.25, image_size=16))
    assert source.info["sizes"] == {"train": 9, "test": 5, "val": 3}
    x = _batch(source, "test", rows=5)["x"]
    assert x.shape == (5, 1, 16, 16)
    native = mnist(IdxConfig(root=str(tmp_path)))
    first = native.split("test").__getitems__([0])["x"][0, 0]
    assert torch.equal(((first + 1) * 127.5).round().to(torch.uint8), torch.from_numpy(test[0].astype(np.uint8)))


def test_idx_truncated_and_unpaired_files_are_named_errors(tmp_path):
    write_mnist(tmp_path, "t10k", np.zeros((3, 4, 4)), np.zeros(3), compress=False)
    path = tmp_path / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(DatasetError, match="truncated"):
        mnist(IdxConfig(root=str(tmp_path)))
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    path.unlink()
    write_mnist(tmp_path / "b", "t10k", np.zeros((3, 4, 4)), np.zeros(3), compress=True)
    (tmp_path / "b" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz is missing"):
        mnist(IdxConfig(root=str(tmp_path / "b")))
    with pytest.raises(DatasetError, match="no IDX files"):
        mnist(IdxConfig(root=str(tmp_path)))


# -- fraction ----------------------------------------------------------------------


def test_fraction_keeps_a_fixed_seeded_subset():
    full = Digits(DigitsConfig())
    tenth = Digits(DigitsConfig(fraction=0.1))
    again = Digits(DigitsConfig(fraction=0.1))
    other = Digits(DigitsConfig(fraction=0.1, fraction_seed=1))
    n = full.info["sizes"]["train"]
    assert tenth.info["sizes"]["train"] == round(0.1 * n)
    assert torch.equal(tenth.split("train").images, again.split("train").images)
    assert not torch.equal(tenth.split("train").images, other.split("train").images)
    # the subset is drawn from the train split only: val/test are unchanged
    assert torch.equal(tenth.split("test").images, full.split("test").images)
    rows = {tuple(r.flatten().tolist()) for r in full.split("train").images}
    assert all(tuple(r.flatten().tolist()) in rows for r in tenth.split("train").images)
    with pytest.raises(DatasetError, match="fraction"):
        Digits(DigitsConfig(fraction=0.0))


def test_digits_default_is_upsampled_and_split():
    source = Digits(DigitsConfig())
    assert source.info["image_size"] == 16 and source.info["channels"] == 1
    assert sum(source.info["sizes"].values()) == 1797
    x = _batch(source, rows=8)["x"]
    assert x.shape == (8, 1, 16, 16) and -1.0 <= x.min() < x.max() <= 1.0


# -- CIFAR pickles -------------------------------------------------------------------


def test_cifar10_pickle_batches(tmp_path):
    rng = np.random.default_rng(0)
    parts = [(rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8), [i % 10 for i in range(4)]) for _ in range(5)]
    test = (rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8), [9, 8, 7])
    write_cifar10(tmp_path, parts, test)
    source = cifar10(CifarConfig(root=str(tmp_path)))  # the parent of cifar-10-batches-py
    assert source.info["sizes"] == {"train": 18, "test": 3, "val": 2}
    assert source.info["class_names"][:2] == ["class0", "class1"] and source.info["channels"] == 3
    test_split = source.split("test")
    assert test_split.labels.tolist() == [9, 8, 7]
    # rows of R, G, B planes decode back to the original HWC pixels
    assert torch.equal(test_split.images[1].permute(1, 2, 0), torch.from_numpy(test[0][1]))


def test_cifar100_fine_and_coarse(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    folder = write_cifar100(tmp_path, images, [10, 20, 30, 40, 50, 99], [1, 2, 3, 4, 5, 19])
    fine = cifar100(CifarConfig(root=str(folder)))
    coarse = cifar100(CifarConfig(root=str(folder), label_kind="coarse"))
    assert fine.split("test").labels.tolist() == [10, 20, 30, 40, 50, 99] and fine.info["num_classes"] == 100
    assert coarse.split("test").labels.tolist() == [1, 2, 3, 4, 5, 19] and coarse.info["num_classes"] == 20
    with pytest.raises(DatasetError, match="label_kind"):
        cifar100(CifarConfig(root=str(folder), label_kind="medium"))


def test_cifar_pickle_with_code_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    (folder / "test_batch").write_bytes(pickle_dumps({b"data": Evil()}))
    with pytest.raises(DatasetError, match="not a readable CIFAR pickle"):
        cifar10(CifarConfig(root=str(tmp_path)))


def pickle_dumps(obj):
    import pickle

    return pickle.dumps(obj, protocol=2)


# -- image folders ---------------------------------------------------------------------


@needs_cifar_jpg
def test_real_cifar10_jpeg_layout():
    source = ImageFolder(ImageFolderConfig(root=str(CIFAR_JPG_DIR), val_fraction=0.1, test_fraction=0.0))
    assert source.info["class_names"][0] == "airplane" and source.info["num_classes"] == 10
    # the layout holds only test/: it becomes the pool that train and val are carved from
    assert source.info["sizes"] == {"train": 9000, "val": 1000, "test": 0}
    assert source.info["skipped"] == 0 and source.info["channels"] == 3 and source.info["image_size"] == 32
    counts = torch.bincount(torch.cat([source.split(s).labels for s in source.splits if len(source.split(s))]))
    assert counts.tolist() == [1000] * 10


def test_folder_mixed_gray_rgb_and_a_corrupt_file(tmp_path):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    write_png(tmp_path / "cat" / "a.png", gray)
    write_png(tmp_path / "cat" / "b.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    write_jpeg(tmp_path / "dog" / "c.jpg", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    write_png(tmp_path / "dog" / "d.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.warns(UserWarning, match="skipped 1 file"):
        source = ImageFolder(ImageFolderConfig(root=str(tmp_path), val_fraction=0.0, test_fraction=0.0))
    assert source.info["skipped"] == 1 and source.info["channels"] == 3
    assert source.info["class_names"] == ["cat", "dog"]
    train = source.split("train")
    assert train.images.shape == (4, 3, 8, 8) and train.labels.tolist() == [0, 0, 1, 1]
    # the grayscale file became RGB with three equal channels holding its pixels
    assert torch.equal(train.images[0], torch.from_numpy(gray).expand(3, -1, -1))
    with pytest.warns(UserWarning, match="skipped 1 file"):
        as_gray = ImageFolder(ImageFolderConfig(root=str(tmp_path), channels=1, val_fraction=0.0, test_fraction=0.0))
    assert as_gray.split("train").images.shape == (4, 1, 8, 8)


def test_flat_unlabelled_folder_and_split_folders(tmp_path):
    rng = np.random.default_rng(2)
    for i in range(5):
        write_png(tmp_path / "flat" / f"{i}.png", rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    source = ImageFolder(ImageFolderConfig(root=str(tmp_path / "flat"), image_size=8, val_fraction=0.2, test_fraction=0.2))
    assert source.info["task"] == "unlabelled" and "num_classes" not in source.info
    assert "label" not in _batch(source, rows=2) and source.info["sizes"] == {"train": 3, "val": 1, "test": 1}
    for split, n in (("train", 3), ("test", 2)):
        for i in range(n):
            write_png(tmp_path / "tree" / split / ("a" if i % 2 else "b") / f"{i}.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    tree = ImageFolder(ImageFolderConfig(root=str(tmp_path / "tree"), val_fraction=0.0))
    assert tree.info["sizes"] == {"train": 3, "test": 2, "val": 0} and tree.info["channels"] == 1
    assert tree.splits == ("train", "test")  # an empty split is not offered to the evaluators


def test_linear_probe_carves_validation_rows_when_the_val_split_is_empty(tmp_path):
    """cifar10-jpg's fixed 8k/2k split has no val images: the default linear probe must hold rows
    out of train (it failed with 'split val has no rows' before the source stopped offering it)."""
    from selfsup_vision.backbone_configs import ResNetConfig
    from selfsup_vision.encoders.backbones import build_resnet18

    from selfsup.evaluation.configs import LinearProbeConfig
    from selfsup.evaluation.linear_probe import LinearProbe

    rng = np.random.default_rng(3)
    for split, n in (("train", 12), ("test", 6)):
        for i in range(n):
            write_png(tmp_path / split / ("a" if i % 2 else "b") / f"{i}.png", rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    source = ImageFolder(ImageFolderConfig(root=str(tmp_path), val_fraction=0.0))
    torch.manual_seed(0)
    encoder = build_resnet18(ResNetConfig(), source.info)
    scores = LinearProbe(LinearProbeConfig()).evaluate(encoder, source, device=torch.device("cpu"), seed=0)
    assert 0.0 <= scores["accuracy"] <= 1.0


def test_folder_bad_inputs_are_named(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        ImageFolder(ImageFolderConfig(root=str(tmp_path / "missing")))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(DatasetError, match="no readable images|no images"):
        ImageFolder(ImageFolderConfig(root=str(tmp_path / "empty")))
    rng = np.random.default_rng(3)
    write_png(tmp_path / "sizes" / "a.png", rng.integers(0, 256, (8, 8), dtype=np.uint8))
    write_png(tmp_path / "sizes" / "b.png", rng.integers(0, 256, (9, 8), dtype=np.uint8))
    with pytest.raises(DatasetError, match="data.image_size"):
        ImageFolder(ImageFolderConfig(root=str(tmp_path / "sizes")))


class TestDigitsContract(DatasetContract):
    modality = "vision"
    dataset = "digits"


class TestMnistContract(DatasetContract):
    modality = "vision"
    dataset = "mnist"
    dataset_config = {"root": str(MNIST_DIR)}

    @pytest.fixture(autouse=True)
    def _needs_data(self):
        if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
            pytest.skip("MNIST not found (set SELFSUP_DATA)")
