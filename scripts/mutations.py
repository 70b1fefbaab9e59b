"""The mutations :mod:`scripts.mutate` applies: one small, plausible wrong-method bug each.

Each entry: ``(id, file, original text, mutated text, test paths)``. The original text must
occur exactly once in the file. The test paths are the tests relevant to that file (the
harness runs them with ``-m "not slow" -x``); a mutant survives when they all pass.
"""

from __future__ import annotations

__all__ = ["MUTATIONS", "Mutation"]

from typing import NamedTuple


class Mutation(NamedTuple):
    id: str
    file: str
    original: str
    mutated: str
    tests: tuple[str, ...]


_CORE_PROBE = ("tests/test_mutants_probe.py", "tests/test_evaluation_probes.py")
_ONLINE = ("tests/test_online_probe.py",)
_SELF_TRAIN = ("tests/test_after_self_train_encoder.py", "tests/test_after_self_training.py")
_STREAM = ("tests/test_engine_stream.py", "plugins/vision/tests/test_vision_stream.py")
_CORE_ENGINE = ("tests/test_mutants_ema.py", "tests/test_engine.py", "tests/test_engine_switches.py")
_TAB = "plugins/tabular/tests/"
_TAB_LOSS = (_TAB + "test_tabular_models_losses.py", _TAB + "test_tabular_mutants.py", _TAB + "test_tabular_models_objectives.py")
_TAB_MASK = (_TAB + "test_tabular_mutants.py", _TAB + "test_tabular_models_masks.py", _TAB + "test_tabular_models_objectives.py")
_AUD = "plugins/audio/tests/"
_AUD_TESTS = (_AUD + "test_audio_mutants.py", _AUD + "test_audio_losses.py", _AUD + "test_audio_masks.py",
              _AUD + "test_audio_ssamba.py")
_AUD_QUALITY = (_AUD + "test_audio_quality.py",)
_GR = "plugins/graph/tests/"
_GR_SCGC = (_GR + "test_graph_losses.py", _GR + "test_graph_objectives.py")
_GR_ASSIGN = (_GR + "test_graph_assignment.py",)
_GR_DSLA = (_GR + "test_graph_dsla_losses.py", _GR + "test_graph_dsla_objective.py")
_VIS = ("plugins/vision/tests/test_vision_losses.py", "plugins/vision/tests/test_vision_objectives.py")
_VJ = "plugins/vision/tests/"
_VIS_SSL_LOSS = (_VJ + "test_joint_losses.py",)
_VIS_SSL_WIRING = (_VJ + "test_vision_ssl_objectives.py", _VJ + "test_vision_heads.py")
_VIS_VIEWS = (_VJ + "test_vision_views.py",)
#: The image-SSL quality tests (slow: the harness's "not slow" run skips them; run them on the mutant by hand).
_VIS_QUALITY = (_VJ + "test_vision_ssl_quality.py",)
_VIS_PAIRING = (_VJ + "test_vision_ssl_view_pairing.py",)
#: SwAV / SEER: the hand-recomputed step (not slow) and the prototype-objective quality module.
_VIS_PROTO = (_VJ + "test_vision_ssl_quality_proto.py", _VJ + "test_vision_ssl_objectives.py")
#: MYOW: golden values, mining, ramp, wiring and the hand-recomputed step (not slow).
_VIS_MYOW = (_VJ + "test_vision_myow.py",)
_PC = "plugins/pointcloud/tests/"
_PC_GC = (_PC + "test_pointcloud_gaussian_losses.py", _PC + "test_pointcloud_gaussian_cross.py")
_PC_MSM = (_PC + "test_pointcloud_msm_loss.py", _PC + "test_pointcloud_msm.py")
_EX = ("examples/selfsup-example-plugin/tests/test_example_losses.py",)
_MAE = ("plugins/vision/tests/test_vision_mae.py",)
_FTS = ("tests/test_fine_tune_strategies.py",)
_TS = "plugins/timeseries/tests/"
_TS_LOSS = (_TS + "test_timeseries_losses.py", _TS + "test_timeseries_fidelity.py")
_TS_VIEWS = (_TS + "test_timeseries_views.py", _TS + "test_timeseries_fidelity.py")
_TS_WIRING = (_TS + "test_timeseries_fidelity.py", _TS + "test_timeseries_contracts.py")
_TS_QUALITY = (_TS + "test_timeseries_quality.py",)  # slow, real data: SELFSUP_MUTATE_MARKERS="" SELFSUP_DATA=<data>

M = Mutation
MUTATIONS: tuple[Mutation, ...] = (
    # ---- the five mutants of the issue
    M("tjepa-identical-target-sets", "plugins/tabular/selfsup_tabular/objectives/masks.py",
      "draws = 1 if identical_targets else num_targets", "draws = 1", _TAB_MASK),
    M("tjepa-context-size-int", "plugins/tabular/selfsup_tabular/objectives/masks.py",
      "n_context = context.minimum + round(", "n_context = context.minimum + int(", _TAB_MASK),
    M("probe-standardiser-leak", "core/selfsup/evaluation/linear_probe.py",
      "standardizer = Standardizer.fit(x_train)",
      "standardizer = Standardizer.fit(x_train if x_val is None else torch.cat([x_train, x_val.to(x_train)]))",
      _CORE_PROBE),
    M("probe-no-refit", "core/selfsup/evaluation/linear_probe.py",
      "        at_edge = model.at_edge\n        if not one and feats.held_out:\n",
      "        at_edge = model.at_edge\n        if False:\n", _CORE_PROBE),
    M("ssast-gen-targets-at-disc-mask", "plugins/audio/selfsup_audio/objectives/ssast.py",
      "masked_patch_mse(self.gen_head(out), pick(mask_g))", "masked_patch_mse(self.gen_head(out), pick(mask_d))",
      _AUD_TESTS),
    # ---- core: probes, k-NN, EMA
    M("probe-ties-keep-smaller-l2", "core/selfsup/evaluation/grids.py",
      "        if scores[value] > scores[best]:  # strict: ties keep the larger value",
      "        if scores[value] >= scores[best]:  # strict: ties keep the larger value", _CORE_PROBE),
    M("probe-bias-penalised", "core/selfsup/evaluation/logistic.py",
      "loss = -log_probs.gather(0, y[None]).mean() + 0.5 * l2 * weight.pow(2).sum()",
      "loss = -log_probs.gather(0, y[None]).mean() + 0.5 * l2 * (weight.pow(2).sum() + bias.pow(2).sum())",
      _CORE_PROBE),
    M("probe-binary-penalty-half", "core/selfsup/evaluation/logistic.py",
      "+ 0.25 * l2 * weight.pow(2).sum()", "+ 0.5 * l2 * weight.pow(2).sum()", _CORE_PROBE),
    M("knn-no-normalise-bank", "core/selfsup/evaluation/knn.py",
      "bank_n = F.normalize(bank.to(device, torch.float32), dim=1)", "bank_n = bank.to(device, torch.float32)",
      _CORE_PROBE),
    M("knn-k-plus-one", "core/selfsup/evaluation/knn.py",
      "sim, idx = (q @ bank_n.T).topk(k, dim=1)", "sim, idx = (q @ bank_n.T).topk(min(k + 1, bank_n.shape[0]), dim=1)",
      _CORE_PROBE),
    M("knn-temperature-sign", "core/selfsup/evaluation/knn.py",
      "torch.exp((sim - sim[:, :1]) / temperature)", "torch.exp((sim[:, :1] - sim) / temperature)", _CORE_PROBE),
    M("ema-momentum-swapped", "core/selfsup/engine/ema.py",
      "torch._foreach_lerp_(target_params, online_params, 1.0 - momentum)",
      "torch._foreach_lerp_(target_params, online_params, momentum)", _CORE_ENGINE + _TAB_LOSS),
    M("ema-buffers-not-averaged", "core/selfsup/engine/ema.py",
      "target_buffer.lerp_(online_buffer, 1.0 - momentum)", "target_buffer.copy_(online_buffer)",
      _CORE_ENGINE + _TAB_LOSS),
    M("ema-cosine-schedule-reversed", "core/selfsup/engine/ema.py",
      "return end - (end - start) * (math.cos(math.pi * t) + 1.0) / 2.0",
      "return start + (end - start) * (math.cos(math.pi * t) + 1.0) / 2.0", _CORE_ENGINE + _TAB_LOSS),
    # ---- tabular
    M("jepa-targets-not-detached", "plugins/tabular/selfsup_tabular/losses/jepa_loss.py",
      "difference = predictions.float() - targets.detach().float()",
      "difference = predictions.float() - targets.float()", _TAB_LOSS),
    M("jepa-l1-not-mse", "plugins/tabular/selfsup_tabular/losses/jepa_loss.py",
      "return difference.square().mean()", "return difference.abs().mean()", _TAB_LOSS),
    M("tjepa-targets-from-online-encoder", "plugins/tabular/selfsup_tabular/objectives/t_jepa.py",
      "full = self.target_encoder.encode(self.target_encoder.tokens(batch))",
      "full = self.encoder.encode(self.encoder.tokens(batch))", _TAB_LOSS),
    M("clan-alpha-swapped", "plugins/tabular/selfsup_tabular/losses/clan_loss.py",
      "loss = alpha * similar_loss + (1.0 - alpha) * dissimilar_loss",
      "loss = (1.0 - alpha) * similar_loss + alpha * dissimilar_loss", _TAB_LOSS),
    M("clan-mean-over-all-pairs", "plugins/tabular/selfsup_tabular/losses/clan_loss.py",
      "dissimilar_loss = (dissimilar * dissimilar_active).sum() / (active_dissimilar + eps)",
      "dissimilar_loss = (dissimilar * dissimilar_active).sum() / pair_count", _TAB_LOSS),
    # ---- audio
    M("infonce-wrong-axis", "plugins/audio/selfsup_audio/losses/ssast_loss.py",
      "log_probs = scores.log_softmax(dim=-1)", "log_probs = scores.log_softmax(dim=1)", _AUD_TESTS),
    M("cluster-mask-unsorted-first-draw", "plugins/audio/selfsup_audio/objectives/masks.py",
      "done = counts > num_masked", "done = counts >= num_masked", _AUD_TESTS),
    M("ssast-mask-after-positions", "plugins/audio/selfsup_audio/objectives/ssast.py",
      "return torch.gather(out, 1, mask[..., None].expand(-1, -1, out.shape[-1]))",
      "return out[:, : mask.shape[1]]", _AUD_TESTS),
    # audio (qaudio): the quality tests (plugins/audio/tests/test_audio_quality.py, marked slow, so the
    # harness's "not slow" run skips them; run them with `pytest -m slow` on the mutated copy)
    M("ssast-mask-ignored", "plugins/audio/selfsup_audio/objectives/ssast.py",
      "return torch.where(dense[..., None], self.mask_embed.to(tokens.dtype).expand_as(tokens), tokens)",
      "return tokens", _AUD_TESTS + _AUD_QUALITY),
    M("ssast-infonce-positives-shifted", "plugins/audio/selfsup_audio/objectives/ssast.py",
      "masked_patch_infonce(self.disc_head(out), pick(mask_d), self.config.nce_variant)",
      "masked_patch_infonce(self.disc_head(out), pick(mask_d).roll(1, dims=1), self.config.nce_variant)",
      _AUD_TESTS + _AUD_QUALITY),
    M("ssast-disc-targets-at-gen-mask", "plugins/audio/selfsup_audio/objectives/ssast.py",
      "masked_patch_infonce(self.disc_head(out), pick(mask_d), self.config.nce_variant)",
      "masked_patch_infonce(self.disc_head(out), pick(mask_g), self.config.nce_variant)",
      _AUD_TESTS + _AUD_QUALITY),
    M("ast-encode-at-no-cls-offset", "plugins/audio/selfsup_audio/encoders/ast.py",
      "return self.norm(self.blocks[-1].forward_at(x, index + self.num_cls_tokens))",
      "return self.norm(self.blocks[-1].forward_at(x, index))",
      (_AUD + "test_audio_models.py",) + _AUD_TESTS + _AUD_QUALITY),
    M("amba-backward-block-not-mirrored", "plugins/audio/selfsup_audio/encoders/mamba.py",
      "h_b, r_b = backward_block(hidden, residual, mirrored=True)",
      "h_b, r_b = backward_block(hidden, residual, mirrored=False)", _AUD_TESTS + _AUD_QUALITY),
    M("amba-no-positions", "plugins/audio/selfsup_audio/encoders/mamba.py",
      "hidden = torch.cat([cls, tokens], dim=1) + self.pos_embed",
      "hidden = torch.cat([cls, tokens], dim=1)", _AUD_TESTS + _AUD_QUALITY),
    # ---- graph
    M("ncontrast-no-self-mask", "plugins/graph/selfsup_graph/losses/ncontrast.py",
      "return sim * (1.0 - torch.eye(sim.shape[0], device=sim.device, dtype=sim.dtype))", "return sim", _GR_SCGC),
    M("dec-target-not-squared", "plugins/graph/selfsup_graph/losses/dec.py",
      "weight = q.pow(2) / q.sum(dim=0, keepdim=True)", "weight = q / q.sum(dim=0, keepdim=True)", _GR_SCGC),
    M("dec-student-t-exponent", "plugins/graph/selfsup_graph/losses/dec.py",
      "kernel = (1.0 + sq / dof).pow(-(dof + 1.0) / 2.0)", "kernel = (1.0 + sq / dof).pow(-(dof + 1.0))", _GR_SCGC),
    M("scgc-argmax-q-scores-p", "plugins/graph/selfsup_graph/objectives/scgc.py",
      "scores = score_assignment(batch[\"label\"], argmax_q(z, self.centers, self.dof))",
      "scores = score_assignment(batch[\"label\"], p.argmax(dim=1))", _GR_ASSIGN),
    M("argmax-q-best-is-last", "plugins/graph/selfsup_graph/assignment.py",
      "if key not in best or value > best[key]:", "if True:", _GR_ASSIGN),
    M("argmax-q-ari-as-nmi", "plugins/graph/selfsup_graph/assignment.py",
      "\"q_nmi\": metrics.normalized_mutual_info(y, c),", "\"q_nmi\": metrics.adjusted_rand_index(y, c),", _GR_ASSIGN),
    M("dsla-original-not-first", "plugins/graph/selfsup_graph/losses/dsla_discrimination.py",
      "target = torch.zeros(scores.shape[0], dtype=torch.long, device=scores.device)",
      "target = torch.ones(scores.shape[0], dtype=torch.long, device=scores.device)", _GR_DSLA),
    M("dsla-edit-not-normalised", "plugins/graph/selfsup_graph/losses/dsla_edit.py",
      "ratio = distances / torch.where(valid, edits, torch.ones_like(edits))", "ratio = distances", _GR_DSLA),
    M("dsla-margin-includes-self", "plugins/graph/selfsup_graph/losses/dsla_margin.py",
      "return (hinge * other.unsqueeze(2)).sum()", "return (hinge).sum()", _GR_DSLA),
    M("dsla-candidates-not-perturbed", "plugins/graph/selfsup_graph/dsla_candidates.py",
      "    budget[:, 0] = 0\n", "    budget[:, :] = 0\n", (_GR + "test_graph_dsla_candidates.py",) + _GR_DSLA),
    # ---- vision
    M("augself-fake-sign", "plugins/vision/selfsup_vision/losses/augself_discriminator.py",
      "F.mse_loss(pred_fake[p], -omega_fake[p])", "F.mse_loss(pred_fake[p], omega_fake[p])", _VIS),
    M("augself-generator-sign", "plugins/vision/selfsup_vision/losses/augself_generator.py",
      "F.mse_loss(pred_fake[p], omega_fake[p]) - F.mse_loss(pred_fake[p], -omega_fake[p])",
      "F.mse_loss(pred_fake[p], -omega_fake[p]) - F.mse_loss(pred_fake[p], omega_fake[p])", _VIS),
    M("augself-halves-swapped", "plugins/vision/selfsup_vision/objectives/gan.py",
      "{p: v[rows:] for p, v in predictions.items()}, {p: omegas[p][rows:] for p in predictions},\n"
      "                {p: v[:rows] for p, v in predictions.items()}, {p: omegas[p][:rows] for p in predictions},",
      "{p: v[:rows] for p, v in predictions.items()}, {p: omegas[p][:rows] for p in predictions},\n"
      "                {p: v[rows:] for p, v in predictions.items()}, {p: omegas[p][rows:] for p in predictions},", _VIS),
    M("augself-real-only-ignored", "plugins/vision/selfsup_vision/losses/augself_discriminator.py",
      "if data == \"all\" else 0.0", "if data in (\"all\", \"real\") else 0.0", _VIS),
    # survives the harness's "not slow" run; killed by the slow
    # test_vision_objectives.py::test_the_head_learns_translation_from_the_feature_difference_on_real_digits
    M("augself-head-sees-augmented-only", "plugins/vision/selfsup_vision/objectives/gan.py",
      "difference = h - trunk.features(x)", "difference = h", _VIS),
    M("hinge-fake-sign", "plugins/vision/selfsup_vision/losses/hinge.py",
      "F.relu(1.0 + fake_logits).mean()", "F.relu(1.0 - fake_logits).mean()", _VIS),
    # ---- vision joint-embedding methods (losses, views, wiring)
    M("vis-ntxent-self-kept", "plugins/vision/selfsup_vision/losses/nt_xent.py",
      'logits_aa = (a @ a_all.T / temperature).masked_fill(self_mask, float("-inf"))',
      "logits_aa = a @ a_all.T / temperature", _VIS_SSL_LOSS),
    M("vis-ntxent-halved", "plugins/vision/selfsup_vision/losses/nt_xent.py",
      "return (loss_a + loss_b).mean()", "return (loss_a + loss_b).mean() / 2", _VIS_SSL_LOSS),
    M("vis-byol-target-grad", "plugins/vision/selfsup_vision/losses/byol.py",
      "z.detach().float()", "z.float()", _VIS_SSL_LOSS),
    M("vis-dino-same-view-pair", "plugins/vision/selfsup_vision/losses/dino.py",
      "            if v == g:\n                continue", "            if v < 0:\n                continue", _VIS_SSL_LOSS),
    M("vis-dino-no-centre", "plugins/vision/selfsup_vision/losses/dino.py",
      "F.softmax((t.detach().float() - center) / teacher_temp", "F.softmax((t.detach().float()) / teacher_temp", _VIS_SSL_LOSS),
    M("vis-swav-own-view", "plugins/vision/selfsup_vision/losses/swav.py",
      "            if v == crop:\n                continue", "            if v < 0:\n                continue", _VIS_SSL_LOSS),
    M("vis-sinkhorn-no-column-step", "plugins/vision/selfsup_vision/heads/sinkhorn.py",
      "        q /= torch.sum(q, dim=0, keepdim=True)\n", "", _VIS_SSL_LOSS),
    M("vis-views-flip-param-lies", "plugins/vision/selfsup_vision/views/multicrop.py",
      "h / height, w / width, float(flip)", "h / height, w / width, float(not flip)", _VIS_VIEWS),
    M("vis-views-solarize-threshold", "plugins/vision/selfsup_vision/views/multicrop.py",
      "out = tvf.solarize(out, 0.5)", "out = tvf.solarize(out, 0.75)", _VIS_VIEWS),
    M("vis-byol-ema-frozen", "plugins/vision/selfsup_vision/objectives/byol.py",
      "self.target.update(self.online, step - 1, max_steps)", "self.target.update(self.online, max_steps, max_steps)",
      _VIS_SSL_WIRING),
    M("vis-dino-evaluates-student", "plugins/vision/selfsup_vision/objectives/dino.py",
      "return self.teacher.network.backbone", "return self.encoder", _VIS_SSL_WIRING),
    M("vis-swav-prototypes-never-frozen", "plugins/vision/selfsup_vision/objectives/swav.py",
      "if step <= cfg.freeze_prototypes_steps:", "if step < 0:", _VIS_SSL_WIRING),
    # ---- vision joint-embedding and MIM methods: wiring bugs for the quality tests (issue 21)
    M("vis-ntxent-positives-shifted", "plugins/vision/selfsup_vision/losses/nt_xent.py",
      "target = torch.arange(n, device=a.device) + offset", "target = (torch.arange(n, device=a.device) + 1) % n + offset",
      _VIS_SSL_LOSS + _VIS_QUALITY),
    M("vis-simclr-one-view", "plugins/vision/selfsup_vision/objectives/simclr.py",
      "z2 = self.projector(self.encoder.forward_images(v2))", "z2 = self.projector(self.encoder.forward_images(v1))",
      _VIS_PAIRING + _VIS_SSL_WIRING + _VIS_QUALITY),
    M("vis-byol-target-from-other-view", "plugins/vision/selfsup_vision/objectives/byol.py",
      "z1, z2 = self.target(v1), self.target(v2)", "z1, z2 = self.target(v2), self.target(v1)",
      _VIS_PAIRING + _VIS_SSL_WIRING + _VIS_QUALITY),
    M("vis-dino-centre-frozen", "plugins/vision/selfsup_vision/objectives/dino.py",
      "self.center.copy_(update_center(self.center, teacher, self.config.center_momentum))", "pass",
      _VIS_SSL_WIRING + _VIS_QUALITY),
    M("vis-dino-teacher-not-updated", "plugins/vision/selfsup_vision/objectives/dino.py",
      "self.teacher.update(self.student, step - 1, max_steps)", "pass", _VIS_SSL_WIRING + _VIS_QUALITY),
    M("mae-loss-on-visible", "plugins/vision/selfsup_vision/objectives/mae.py",
      "return mae_loss(pred, target, mask, norm_pix=self.config.norm_pix_loss), pred, mask",
      "return mae_loss(pred, target, 1 - mask, norm_pix=self.config.norm_pix_loss), pred, mask", _MAE + _VIS_QUALITY),
    # ---- point cloud
    M("msm-target-not-detached", "plugins/pointcloud/selfsup_pointcloud/losses/msm.py",
      "F.cosine_similarity(prediction, target.detach(), dim=1, eps=1e-8)",
      "F.cosine_similarity(prediction, target, dim=1, eps=1e-8)", _PC_MSM),
    M("msm-unmasked-voxels", "plugins/pointcloud/selfsup_pointcloud/losses/msm.py",
      "weight = mask.to(distance.dtype)", "weight = torch.ones_like(distance)", _PC_MSM),
    M("gc-depth-counts-invalid", "plugins/pointcloud/selfsup_pointcloud/losses/gaussian_cross_depth.py",
      "return ((rendered - target).abs() * weight).sum() / weight.sum().clamp_min(1.0)",
      "return ((rendered - target).abs() * weight).mean()", _PC_GC),
    M("gc-colour-mask-ignored", "plugins/pointcloud/selfsup_pointcloud/losses/gaussian_cross_color.py",
      "weight = mask.to(error.dtype)[..., None]", "weight = torch.ones_like(error[..., :1])", _PC_GC),
    # ---- masked image modelling and fine-tuning strategies (mim)
    M("mae-loss-all-patches", "plugins/vision/selfsup_vision/losses/mae.py",
      "return (per_patch * mask).sum() / mask.sum().clamp_min(1.0)", "return per_patch.mean()", _MAE),
    M("mae-biased-variance", "plugins/vision/selfsup_vision/losses/mae.py",
      "var = patches.var(dim=-1, keepdim=True)", "var = patches.var(dim=-1, keepdim=True, unbiased=False)", _MAE),
    M("mae-mask-inverted", "plugins/vision/selfsup_vision/encoders/mae_vit.py",
      "mask[:, :keep] = 0", "mask[:, keep:] = 0", _MAE),
    M("mae-decoder-no-unshuffle", "plugins/vision/selfsup_vision/objectives/mae.py",
      "rest = torch.gather(rest, 1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[2]))", "rest = rest", _MAE),
    M("mae-encoder-sees-all", "plugins/vision/selfsup_vision/objectives/mae.py",
      "latent, mask, ids_restore = self.encoder.forward_masked(images, self.config.mask_ratio, noise)",
      "latent, mask, ids_restore = self.encoder.forward_masked(images, 0.0, noise)", _MAE),
    M("sla-joint-label-order", "core/selfsup/evaluation/fine_tune_strategies/sla_joint.py",
      "return (labels.long().unsqueeze(1) * transforms + offsets).reshape(-1)",
      "return (labels.long().unsqueeze(1) + offsets * transforms).reshape(-1)", _FTS),
    M("sla-aggregate-identity-only", "core/selfsup/evaluation/fine_tune_strategies/sla_joint.py",
      "total = total + joint_logits[j::transforms, j::transforms]", "total = total + joint_logits[0::transforms, 0::transforms]", _FTS),
    M("sla-sd-teacher-not-detached", "core/selfsup/evaluation/fine_tune_strategies/sla_distillation.py",
      "F.softmax(aggregated.detach() / temperature, dim=1)", "F.softmax(aggregated / temperature, dim=1)", _FTS),
    M("sla-rotation-not-interleaved", "core/selfsup/evaluation/fine_tune_strategies/sla.py",
      "stacked = torch.stack([torch.rot90(images, k, (2, 3)) for k in quarter_turns], dim=1)",
      "stacked = torch.stack([torch.rot90(images, k, (2, 3)) for k in quarter_turns], dim=0)", _FTS),
    M("core-focal-weight-dropped", "core/selfsup/evaluation/fine_tune_strategies/focal_supcon.py",
      "weight = 1.0 - torch.exp(log_prob)", "weight = torch.ones_like(log_prob)", _FTS),
    M("core-hard-positive-argmax", "core/selfsup/evaluation/fine_tune_strategies/core_mixup.py",
      "positive = (similarity * (equal * not_self)).argmin(dim=1)", "positive = (similarity * (equal * not_self)).argmax(dim=1)", _FTS),
    M("core-originals-attached", "core/selfsup/evaluation/fine_tune_strategies/core_mixup.py",
      "torch.cat([features.detach(), negatives, positives]),", "torch.cat([features, negatives, positives]),", _FTS),
    M("core-negative-weight-unclipped", "core/selfsup/evaluation/fine_tune_strategies/core_mixup.py",
      "lam = np.maximum(rng.beta(alpha, alpha, n), negative_min_weight)", "lam = rng.beta(alpha, alpha, n)", _FTS),
    # ---- example plugin
    M("ntxent-positive-offset", "examples/selfsup-example-plugin/selfsup_example/losses.py",
      "positives = torch.arange(2 * n, device=u.device).roll(n)",
      "positives = torch.arange(2 * n, device=u.device).roll(n - 1)", _EX),
    M("ntxent-self-similarity-kept", "examples/selfsup-example-plugin/selfsup_example/losses.py",
      "logits = logits.masked_fill(self_mask, float(\"-inf\"))", "logits = logits", _EX),
    # ---- issue 21 (quality): dataset trainer defaults, the audio raw-feature baseline, paired tables
    M("dataset-trainer-defaults-below-modality", "core/selfsup/config.py",
      "        _modality_layer(modality, encoder, objective, dataset, evaluators, registry),\n"
      "        OmegaConf.create({\"trainer\": dict(dataset.trainer_defaults)}),\n",
      "        OmegaConf.create({\"trainer\": dict(dataset.trainer_defaults)}),\n"
      "        _modality_layer(modality, encoder, objective, dataset, evaluators, registry),\n",
      ("tests/test_config.py",)),
    M("fbank-stats-padding-counted", "plugins/audio/selfsup_audio/datasets/raw.py",
      "lengths = lengths.to(x.device).long().clamp(1, frames)", "lengths = torch.full_like(lengths, frames).to(x.device)",
      (_AUD + "test_audio_datasets.py::test_the_raw_feature_baseline_is_the_fbank_mean_and_std_over_real_frames",)),
    M("fbank-stats-sample-std", "plugins/audio/selfsup_audio/datasets/raw.py",
      "var = (((x - mean[:, None, :]) * mask) ** 2).sum(1) / count",
      "var = (((x - mean[:, None, :]) * mask) ** 2).sum(1) / (count - 1).clamp_min(1)",
      (_AUD + "test_audio_datasets.py::test_the_raw_feature_baseline_is_the_fbank_mean_and_std_over_real_frames",)),
    M("tables-unpaired-interval", "benchmarks/tables.py",
      "half = _T95.get(n - 1, 1.96) * sd(diffs) / math.sqrt(n) if n > 1 else float(\"nan\")",
      "half = _T95.get(n - 1, 1.96) * sd(pretrained) / math.sqrt(n) if n > 1 else float(\"nan\")",
      ("tests/test_benchmark_tables.py",)),
    # ---- time series (frame projections)
    M("frames-l1-not-divided-by-batch", "plugins/timeseries/selfsup_timeseries/losses/frame_loss.py",
      "l1_cwt = F.l1_loss(predict_cwt(e_t), e_w) / rows", "l1_cwt = F.l1_loss(predict_cwt(e_t), e_w)", _TS_LOSS),
    M("frames-ntx-term-dropped", "plugins/timeseries/selfsup_timeseries/losses/frame_loss.py",
      "loss = ntx_tw + ntx_tf + ntx_wf + (l1_ft + l1_cwt)", "loss = ntx_tw + ntx_tf + (l1_ft + l1_cwt)", _TS_LOSS),
    M("frames-not-normalised", "plugins/timeseries/selfsup_timeseries/losses/frame_loss.py",
      "e_t, e_w, e_f = (F.normalize(z, dim=1) for z in (z_time, z_cwt, z_ft))",
      "e_t, e_w, e_f = z_time, z_cwt, z_ft", _TS_LOSS),
    M("ntxent-positive-is-self-view", "plugins/timeseries/selfsup_timeseries/losses/ntxent.py",
      "targets = torch.cat([torch.arange(rows, 2 * rows), torch.arange(0, rows)]).to(r.device)",
      "targets = torch.cat([torch.arange(0, rows), torch.arange(rows, 2 * rows)]).to(r.device)", _TS_LOSS),
    M("mapper-l1-divided-by-batch", "plugins/timeseries/selfsup_timeseries/losses/frame_loss.py",
      "l1_ft = F.l1_loss(mapped_ft, h_ft)\n", "l1_ft = F.l1_loss(mapped_ft, h_ft) / h_ft.shape[0]\n", _TS_LOSS),
    M("fourier-not-orthonormal", "plugins/timeseries/selfsup_timeseries/views.py",
      'return torch.fft.rfft(x.to(torch.float32), dim=-1, norm="ortho")',
      "return torch.fft.rfft(x.to(torch.float32), dim=-1)", _TS_VIEWS),
    M("cwt-linear-scales", "plugins/timeseries/selfsup_timeseries/views.py",
      "return np.geomspace(min_scale, max_scale, num=num_scales)",
      "return np.linspace(min_scale, max_scale, num=num_scales)", _TS_VIEWS),
    M("cwt-wrong-wavelet", "plugins/timeseries/selfsup_timeseries/configs.py",
      'wavelet: str = "cmor1-1"', 'wavelet: str = "cmor1.5-1"', _TS_VIEWS),
    M("frames-shared-projector", "plugins/timeseries/selfsup_timeseries/objectives/frame_projections.py",
      "z_w = self.gather(self.projector_spect(h_w))", "z_w = self.gather(self.projector(h_w))", _TS_WIRING),
    M("frames-stage2-train-mode", "plugins/timeseries/selfsup_timeseries/objectives/frame_projections.py",
      "            module.eval()  # the official", "            module.train()  # the official", _TS_WIRING),
    M("frames-inference-order", "plugins/timeseries/selfsup_timeseries/encoders/resnet1d.py",
      "return torch.cat([self.map_ft(h), h, self.map_cwt(h)], dim=1)",
      "return torch.cat([h, self.map_ft(h), self.map_cwt(h)], dim=1)", _TS_WIRING),
    M("frames-mappers-in-stage1", "plugins/timeseries/selfsup_timeseries/objectives/frame_projections.py",
      'Phase("pretrain", stage1, last_step=self.config.pretrain_steps)',
      'Phase("pretrain", stage1 + mappers, last_step=self.config.pretrain_steps)', _TS_WIRING),
    # ---- issue 21 (qmix): wiring bugs the quality tests catch (slow tests: SELFSUP_MUTATE_MARKERS="")
    M("series-simclr-positives-misaligned", "plugins/timeseries/selfsup_timeseries/objectives/simclr.py",
      "loss = nt_xent(z1, z2, self.config.temperature)",
      "loss = nt_xent(z1, z2.roll(1, dims=0), self.config.temperature)", _TS_QUALITY + _TS_WIRING),
    M("ts-simclr-positives-misaligned", "examples/selfsup-example-plugin/selfsup_example/objective.py",
      "loss = nt_xent(z1, z2, self.config.temperature)",
      "loss = nt_xent(z1, z2.roll(1, dims=0), self.config.temperature)",
      ("examples/selfsup-example-plugin/tests/test_example_pretrain.py",)),
    M("msm-teacher-is-the-student", "plugins/pointcloud/selfsup_pointcloud/objectives/msm.py",
      "teacher: PointUNet = self.teacher  # type: ignore[assignment]",
      "teacher: PointUNet = self.encoder  # type: ignore[assignment]",
      _PC_MSM + (_PC + "test_pointcloud_segmentation.py",)),
    # ---- issue 21 (qmask): MAE wiring bugs the few-label fine-tune quality test catches (slow: SELFSUP_MUTATE_MARKERS="")
    M("mae-latent-detached", "plugins/vision/selfsup_vision/objectives/mae.py",
      "pred = self.decoder(latent, ids_restore)", "pred = self.decoder(latent.detach(), ids_restore)",
      (_VJ + "test_vision_ssl_quality_mae.py",) + _MAE),
    # ---- issue 21 (qproto): SwAV / SEER wiring (the swav objective serves both)
    M("vis-swav-codes-not-swapped", "plugins/vision/selfsup_vision/objectives/swav.py",
      "out = scores[crop].detach()", "out = scores[(crop + 1) % len(scores)].detach()", _VIS_PROTO),
    M("vis-swav-sinkhorn-skipped", "plugins/vision/selfsup_vision/objectives/swav.py",
      "codes.append(sinkhorn_knopp(out, epsilon=cfg.epsilon, iterations=cfg.sinkhorn_iterations)[-bs:])",
      "codes.append(torch.softmax(out / cfg.epsilon, dim=1)[-bs:])", _VIS_PROTO),
    M("vis-swav-prototypes-not-normalised", "plugins/vision/selfsup_vision/objectives/swav.py",
      "self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))", "pass", _VIS_PROTO),
    M("vis-regnety-no-cifar-stem", "plugins/vision/selfsup_vision/encoders/backbones.py",
      "    if cifar:\n        _regnet_cifar_stem(trunk)", "    if False:\n        _regnet_cifar_stem(trunk)",
      (_VJ + "test_vision_backbones.py",)),
    # ---- issue 21 (qema): EMA-teacher image objectives (BYOL, DINO); killed by the (not slow)
    # wiring tests in test_vision_ssl_quality_ema.py (no BYOL/DINO quality test: no gain at test size)
    M("vis-byol-predictor-skipped", "plugins/vision/selfsup_vision/objectives/byol.py",
      "p1, p2 = self.predictor(self.online(v1)), self.predictor(self.online(v2))",
      "p1, p2 = self.online(v1), self.online(v2)", (_VJ + "test_vision_ssl_quality_ema.py",) + _VIS_SSL_WIRING),
    M("vis-dino-teacher-sees-local", "plugins/vision/selfsup_vision/objectives/dino.py",
      "teacher = self.teacher(torch.cat(views[:2])).chunk(2)",
      "teacher = self.teacher(torch.cat(views[-2:])).chunk(2)", (_VJ + "test_vision_ssl_quality_ema.py",) + _VIS_SSL_WIRING),
    M("vis-dino-temperatures-swapped", "plugins/vision/selfsup_vision/objectives/dino.py",
      "student_temp=self.config.student_temp,\n                         teacher_temp=self.teacher_temp(step))",
      "student_temp=self.teacher_temp(step),\n                         teacher_temp=self.config.student_temp)",
      (_VJ + "test_vision_ssl_quality_ema.py",) + _VIS_SSL_WIRING),
    # ---- issue 15: the online linear probe (core); killed by tests/test_online_probe.py
    M("probe-online-train-mode", "core/selfsup/engine/online_probe.py",
      "with torch.no_grad(), _eval_mode(encoder), autocast_context(self.device, self.dtype):",
      "with torch.no_grad(), autocast_context(self.device, self.dtype):", _ONLINE),
    M("probe-online-not-detached", "core/selfsup/engine/online_probe.py",
      "with torch.no_grad(), _eval_mode(encoder), autocast_context(self.device, self.dtype):",
      "with _eval_mode(encoder), autocast_context(self.device, self.dtype):", _ONLINE),
    M("probe-online-mask-ignored", "core/selfsup/engine/online_probe.py",
      "            weight = weight * batch[\"eval_mask\"].float()", "            pass", _ONLINE),
    M("probe-online-not-checkpointed", "core/selfsup/engine/training_state.py",
      "trainer.online_probe.load_training_state(state[\"online_probe\"])", "pass", _ONLINE),
    M("probe-online-head-from-global-rng", "core/selfsup/engine/online_probe.py",
      "with torch.random.fork_rng(devices=[]):", "if True:", _ONLINE),
    # ---- issue 15: streaming data (core StreamOrder, vision image-stream)
    M("stream-position-not-told", "core/selfsup/engine/sampler.py",
      "self.stream.set_position(epoch=self.epoch, batches=self.position, batch_size=self.batch_size)",
      "self.stream.set_position(epoch=self.epoch, batches=0, batch_size=self.batch_size)", _STREAM),
    M("stream-skip-ignored", "plugins/vision/selfsup_vision/datasets/stream.py",
      "skip = own_batches * self.batch_size", "skip = 0", _STREAM),
    M("stream-worker-skip-not-shared", "plugins/vision/selfsup_vision/datasets/stream.py",
      "own_batches = max(0, (self.batches - worker + workers - 1) // workers)", "own_batches = self.batches", _STREAM),
    M("stream-readers-read-every-shard", "plugins/vision/selfsup_vision/datasets/stream.py",
      "for shard in self.shard_order(self.epoch)[reader::readers]:", "for shard in self.shard_order(self.epoch):", _STREAM),
    M("stream-shards-never-shuffled", "plugins/vision/selfsup_vision/datasets/stream.py",
      "if self.config.shuffle_shards:", "if False:", _STREAM),
    M("stream-squashed-not-cropped", "plugins/vision/selfsup_vision/datasets/stream.py",
      "tvf.center_crop(tvf.resize(image, image_size, antialias=True), [image_size, image_size])",
      "tvf.resize(image, [image_size, image_size], antialias=True)", _STREAM),
    # ---- issue 18: self-training that fine-tunes the encoder (core procedures)
    M("selftrain-encoder-true-labels-travel", "core/selfsup/procedures/self_train_encoder.py",
      "            if labels is not None:  # the round's labels", "            if False:  # the round's labels", _SELF_TRAIN),
    M("selftrain-encoder-pseudo-labels-dropped", "core/selfsup/procedures/self_train_encoder.py",
      "index = torch.cat([self.lab_index, self.unl_index[admitted]])\n        labels = torch.cat([self.y_lab, pseudo.to(torch.int64)])",
      "index = self.lab_index\n        labels = self.y_lab", _SELF_TRAIN),
    M("selftrain-encoder-trains-the-callers", "core/selfsup/procedures/self_train_encoder.py",
      "self.model = copy.deepcopy(self.encoder).to(self.device)", "self.model = self.encoder.to(self.device)", _SELF_TRAIN),
    M("selftrain-encoder-frozen", "core/selfsup/procedures/self_train_encoder.py",
      '"lr": self.encoder_lr}', '"lr": 0.0}', _SELF_TRAIN),
    # ---- issue 21 (dts): the timeseries default command's data, raw-feature column and budget
    M("pulses-phase-fixed", "plugins/timeseries/selfsup_timeseries/datasets/sources.py",
      "phase0 = 2 * math.pi * torch.rand(n, 1, generator=generator, dtype=torch.float64)",
      "phase0 = 0.0 * torch.rand(n, 1, generator=generator, dtype=torch.float64)",
      ("plugins/timeseries/tests/test_timeseries_defaults.py",)),
    M("ts-raw-features-time-major", "plugins/timeseries/selfsup_timeseries/datasets/raw.py",
      "return x.reshape(x.shape[0], -1)", "return x.transpose(1, 2).reshape(x.shape[0], -1)",
      ("plugins/timeseries/tests/test_timeseries_defaults.py",)),
    M("ts-default-budget-reverted", "plugins/timeseries/selfsup_timeseries/configs.py",
      "pretrain_steps: int = 150", "pretrain_steps: int = 300",
      ("plugins/timeseries/tests/test_timeseries_defaults.py",)),
    # ---- issue 15 (myow): MYOW's loss, mining, ramp and wiring (killed by test_vision_myow.py, not slow)
    M("vis-myow-weights-not-normalised", "plugins/vision/selfsup_vision/losses/myow.py",
      "return byol / (1.0 + weight) + weight / (1.0 + weight) * mined, byol, mined",
      "return byol + weight * mined, byol, mined", _VIS_MYOW),
    M("vis-myow-byol-not-halved", "plugins/vision/selfsup_vision/losses/myow.py",
      "byol = 0.5 * byol_loss(p1, p2, z1, z2)", "byol = byol_loss(p1, p2, z1, z2)", _VIS_MYOW),
    M("vis-myow-ramp-ignores-warmup", "plugins/vision/selfsup_vision/losses/myow.py",
      "return float(max_weight) * (step - start) / (end - start)", "return float(max_weight) * step / end", _VIS_MYOW),
    M("vis-myow-mines-farthest", "plugins/vision/selfsup_vision/heads/mining.py",
      "torch.topk(dist, k=k, largest=False)", "torch.topk(dist, k=k, largest=True)", _VIS_MYOW),
    M("vis-myow-anchor-not-excluded", "plugins/vision/selfsup_vision/heads/mining.py",
      "    if exclude is not None:\n        dist[", "    if False:\n        dist[", _VIS_MYOW),
    M("vis-myow-objective-keeps-own-image", "plugins/vision/selfsup_vision/objectives/myow.py",
      "self.mined_pair(anchors, pool, exclude=own)", "self.mined_pair(anchors, pool, exclude=None)", _VIS_MYOW),
    M("vis-myow-pool-through-online", "plugins/vision/selfsup_vision/objectives/myow.py",
      "y_pool = gather_rows(target.backbone.forward_images(pool))",
      "y_pool = gather_rows(self.encoder.forward_images(pool))", _VIS_MYOW),
    M("vis-myow-mined-target-online-heads", "plugins/vision/selfsup_vision/objectives/myow.py",
      "v_m = self.target_m.network(target.head(y_pool[mined]))",
      "v_m = self.projector_m(self.online.head(y_pool[mined]))", _VIS_MYOW),
    M("vis-myow-predictor-m-skipped", "plugins/vision/selfsup_vision/objectives/myow.py",
      "q_m = self.predictor_m(self.projector_m(self.online.head(y)))",
      "q_m = self.projector_m(self.online.head(y))", _VIS_MYOW),
    M("vis-myow-anchor-and-pool-one-view", "plugins/vision/selfsup_vision/objectives/myow.py",
      "return self.light(x)[0][0], self.light(x)[0][0]", "return (lambda v: (v, v))(self.light(x)[0][0])", _VIS_MYOW),
    M("vis-myow-target-m-frozen", "plugins/vision/selfsup_vision/objectives/myow.py",
      "self.target_m.update(self.projector_m, step - 1, max_steps)", "pass", _VIS_MYOW),
    M("vis-myow-byol-targets-same-view", "plugins/vision/selfsup_vision/objectives/myow.py",
      "z1, z2 = self.target(v1), self.target(v2)", "z2, z1 = self.target(v1), self.target(v2)", _VIS_MYOW),
    M("vis-myow-idle-heads-untouched", "plugins/vision/selfsup_vision/objectives/myow.py",
      "if q_m is None:  # see", "if False:  # see", _VIS_MYOW),
    # ---- issue 21 (dtab): T-JEPA's mean_predictor_loss diagnostic over every token (the reg token included)
    M("tjepa-mean-predictor-loss-all-tokens", "plugins/tabular/selfsup_tabular/objectives/t_jepa.py",
      "variance.view(full.shape[1], -1)[self._target_token_positions].mean()", "variance.mean()",
      (_TAB + "test_tabular_models_objectives.py",)),
    # ---- issue 21 (daudio): the embedded audio default's generator and defaults
    M("synthetic-contours-not-reversed", "plugins/audio/selfsup_audio/datasets/synthetic.py",
      "return out[::-1].copy() if cls % 2 else out", "return out",
      ("plugins/audio/tests/test_audio_synthetic.py",)),
    M("synthetic-contours-pitch-order-blind", "plugins/audio/selfsup_audio/datasets/synthetic.py",
      "return span * u, flat", "return span * np.abs(2 * u - 1), flat",
      ("plugins/audio/tests/test_audio_synthetic.py",)),
    M("synthetic-default-budget-dropped", "plugins/audio/selfsup_audio/plugin.py",
      "            trainer_defaults=SYNTHETIC_TRAINER_DEFAULTS,\n", "",
      ("plugins/audio/tests/test_audio_synthetic.py",)),
)
