"""The core's fine-tuning strategies beyond plain cross-entropy: ``sla``, ``sla-sd`` and ``core-tuning``.

Each strategy is a small module (``sla.py``, ``core_tuning.py``) over pure loss functions in their
own files (``sla_joint.py``, ``sla_distillation.py``, ``focal_supcon.py``, ``core_mixup.py``);
``configs.py`` holds their torch-free settings. Registered by the built-in plugin.
"""

__all__: list[str] = []
