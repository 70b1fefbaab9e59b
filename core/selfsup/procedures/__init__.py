"""After-pretraining procedures: they run on top of any pretrained encoder and any dataset.

==========================  =====================================================================
module                      what
==========================  =====================================================================
``labels``                  :func:`split_labels`: a seeded, stratified labelled/unlabelled split
``pseudo_label``            margins and the admission rules of self-training (pure functions)
``self_training``           the self-training loop on frozen features (survey's reference algorithm)
``fst``                     FST's look-ahead: virtual future student steps folded into an EMA teacher
``self_train``              the ``self-train`` evaluator (classic rounds, or FST-D/FST-W)
``lls``                     DDFA for latent label shift: domains, discretise, NMF, adjust (pure functions)
``lls_eval``                the ``lls`` evaluator
``krr``                     the KRR-ST closed form and its outer loss (pure functions)
``distill``                 KRR-ST dataset distillation behind ``selfsup distill``
``distill_io``              writing a distilled set (PNG / CSV / safetensors + manifest, atomic)
==========================  =====================================================================

Importing this package imports nothing heavy; import the submodules you need.
"""

from __future__ import annotations

__all__: list[str] = []
