"""The core's conformance kits on the image backbones and the joint-embedding objectives (digits, 16 px)."""

from __future__ import annotations

from conftest import CIFAR_JPG_DIR, needs_cifar_jpg

from selfsup.testing import DatasetContract, EncoderContract, ObjectiveContract
from selfsup_vision.objectives.views_base import ImageEncoder

_SMALL = {"hidden_dim": 32}


class TestResNet18Contract(EncoderContract):
    modality, dataset, encoder = "vision", "digits", "resnet18"
    capabilities = (ImageEncoder,)


class TestViTTinyContract(EncoderContract):
    modality, dataset, encoder = "vision", "digits", "vit-tiny"
    encoder_config = {"patch_size": 4}
    capabilities = (ImageEncoder,)


class TestRegNetYContract(EncoderContract):
    modality, dataset, encoder = "vision", "digits", "regnety"
    capabilities = (ImageEncoder,)


class TestSimCLRContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "resnet18", "simclr"
    objective_config = {"proj_hidden_dim": 32}


class TestGSimCLRContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "resnet18", "g-simclr"
    objective_config = {"proj_widths": [32, 16, 8], "dae_epochs": 1, "kmeans_n_init": 1}


class TestBYOLContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "resnet18", "byol"
    objective_config = {**_SMALL, "proj_dim": 8}


class TestMYOWContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "vit-tiny", "myow"
    encoder_config = {"patch_size": 4, "depth": 1}
    objective_config = {**_SMALL, "proj_dim": 8, "mined_hidden_dim": 16, "mined_proj_dim": 4,
                        "mined_warmup": 0.0, "mined_rampup_end": 0.0}  # the mined loss from the first step


class TestOBoWContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "resnet18", "obow"
    objective_config = {"num_words": 64, "local_crops": 1}


class TestDINOContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "vit-tiny", "dino"
    encoder_config = {"patch_size": 4}
    objective_config = {**_SMALL, "out_dim": 16, "bottleneck_dim": 8, "local_crops": 2}


class TestSiTContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "vit-tiny", "sit"
    encoder_config = {"patch_size": 4, "depth": 1}
    objective_config = {"hidden_dim": 32, "out_dim": 8}


class TestMugsContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "vit-tiny", "mugs"
    encoder_config = {"patch_size": 4, "depth": 1}
    objective_config = {**_SMALL, "pred_hidden_dim": 16, "instance_out_dim": 8, "local_group_out_dim": 8,
                        "instance_queue_size": 32, "local_group_queue_size": 32, "local_group_top_k": 4,
                        "group_out_dim": 16, "group_bottleneck_dim": 8, "local_crops": 2}


class TestSwAVContract(ObjectiveContract):
    modality, dataset, encoder, objective = "vision", "digits", "resnet18", "swav"
    objective_config = {**_SMALL, "feat_dim": 8, "prototypes": 10, "local_crops": 2, "freeze_prototypes_steps": 0}


@needs_cifar_jpg
class TestCIFAR10JPGContract(DatasetContract):
    modality, dataset = "vision", "cifar10-jpg"
    dataset_config = {"root": str(CIFAR_JPG_DIR)}

    def test_fixed_8k_2k_split(self) -> None:
        data = self.build_data()
        assert (len(data.split("train")), len(data.split("test"))) == (8000, 2000)
        assert data.info["num_classes"] == 10
