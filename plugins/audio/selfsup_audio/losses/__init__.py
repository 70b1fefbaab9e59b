"""Pure loss functions of the audio objectives."""

from .ssast_loss import masked_patch_infonce, masked_patch_mse, ssast_joint_loss

__all__ = ["masked_patch_infonce", "masked_patch_mse", "ssast_joint_loss"]
