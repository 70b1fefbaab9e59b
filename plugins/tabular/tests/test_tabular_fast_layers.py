"""The hand-written transformer-layer forward (encoder_layer_forward, keep_last, the fused
feed-forward) against PyTorch's nn.TransformerEncoderLayer and the full-output predictor."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from selfsup_tabular.encoders.ft_transformer import PostNormTransformer, encoder_layer_forward
from selfsup_tabular.objectives.predictor import TransformerPredictor


def _layer(width: int, heads: int, ffn: int, activation: str = "relu") -> nn.TransformerEncoderLayer:
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(
        width, heads, dim_feedforward=ffn, dropout=0.0, activation=activation, batch_first=True, norm_first=False
    )
    with torch.no_grad():  # non-zero biases, so that every term is exercised
        for parameter in layer.parameters():
            if parameter.dim() == 1:
                parameter.normal_(0.0, 0.1)
    return layer


def _grads(module: nn.Module, x: torch.Tensor, output: torch.Tensor, upstream: torch.Tensor) -> list[torch.Tensor]:
    module.zero_grad(set_to_none=True)
    x.grad = None
    output.backward(upstream)
    return [x.grad.clone()] + [p.grad.clone() for p in module.parameters()]


# head widths 4 (the predictor's, matmul attention) and 32 (the encoder's, SDPA)
@pytest.mark.parametrize(("width", "heads", "ffn"), [(16, 4, 64), (64, 2, 64)])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("train", [True, False])
def test_tabular_layer_forward_matches_torch_layer(
    width: int, heads: int, ffn: int, activation: str, train: bool
) -> None:
    layer = _layer(width, heads, ffn, activation).train(train)
    x = torch.randn(6, 9, width, requires_grad=True)
    upstream = torch.randn(6, 9, width)
    reference = layer(x)
    expected = _grads(layer, x, reference, upstream)
    output = encoder_layer_forward(layer, x)
    assert torch.allclose(output, reference, atol=1e-5, rtol=1e-5)
    for got, want in zip(_grads(layer, x, output, upstream), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("grad", [True, False])
def test_tabular_layer_wide_heads_take_the_products_path_only_without_autograd(grad: bool, monkeypatch) -> None:
    import selfsup_tabular.encoders.ft_transformer as ft

    calls: list[int] = []
    sdpa = ft.F.scaled_dot_product_attention
    monkeypatch.setattr(ft.F, "scaled_dot_product_attention", lambda *a, **k: calls.append(1) or sdpa(*a, **k))
    layer = _layer(64, 2, 64).eval()  # 32-wide heads
    x = torch.randn(6, 15, 64)
    with torch.set_grad_enabled(grad):
        output = encoder_layer_forward(layer, x)
    with torch.no_grad():
        reference = layer(x)
    assert torch.allclose(output, reference, atol=1e-5, rtol=1e-5)
    assert calls == ([1] if grad else [])


@pytest.mark.parametrize("keep", [1, 3, 9])
def test_tabular_layer_keep_last_is_the_tail_of_the_full_output(keep: int) -> None:
    layer = _layer(16, 4, 64)
    x = torch.randn(5, 9, 16, requires_grad=True)
    upstream = torch.randn(5, keep, 16)
    full = layer(x)[:, -keep:]
    expected = _grads(layer, x, full, upstream)
    tail = encoder_layer_forward(layer, x, keep_last=keep)
    assert tail.shape == (5, keep, 16)
    assert torch.allclose(tail, full, atol=1e-5, rtol=1e-5)
    for got, want in zip(_grads(layer, x, tail, upstream), expected, strict=True):
        assert torch.allclose(got, want, atol=1e-5, rtol=1e-4)


def test_tabular_post_norm_transformer_keep_last_matches_slicing() -> None:
    torch.manual_seed(1)
    transformer = PostNormTransformer(16, 2, 4, 32, 0.0)
    x = torch.randn(4, 10, 16)
    with torch.no_grad():
        full = transformer(x)
        # the module stack as PyTorch runs it, layer by layer
        hidden = x
        for layer in transformer.layers:
            hidden = layer(hidden)
        reference = transformer.head(hidden)
        assert torch.allclose(full, reference, atol=1e-5)
        assert torch.allclose(transformer(x, keep_last=4), reference[:, -4:], atol=1e-5)
    with pytest.raises(ValueError, match="keep_last"):
        transformer(x, keep_last=0)


def test_tabular_layer_forward_with_dropout_is_a_dropout_of_the_same_layer() -> None:
    """With dropout (the fused feed-forward is off), train mode is random and eval mode exact."""
    layer = _layer(16, 4, 64)
    for module in layer.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.5
    layer.self_attn.dropout = 0.5
    x = torch.randn(4, 7, 16)
    layer.eval()
    with torch.no_grad():
        assert torch.allclose(encoder_layer_forward(layer, x), layer(x), atol=1e-5)
        layer.train()
        first, second = encoder_layer_forward(layer, x), encoder_layer_forward(layer, x)
    assert not torch.allclose(first, second)


def _reference_predictor(predictor: TransformerPredictor, context, context_positions, target_positions):
    """The predictor as first written: the whole sequence through every layer, then slice."""
    num_masks, rows, num_targets = target_positions.shape
    hidden = predictor.embed(context) + predictor.position_table[context_positions]
    queries = predictor.mask_token + predictor.position_table[target_positions.reshape(num_masks * rows, num_targets)]
    sequence = torch.cat([hidden.repeat(num_masks, 1, 1), queries], dim=1)
    for layer in predictor.transformer.layers:
        sequence = layer(sequence)
    output = predictor.norm(predictor.transformer.head(sequence))
    return predictor.project(output[:, -num_targets:])


def test_tabular_predictor_matches_the_full_sequence_computation() -> None:
    torch.manual_seed(2)
    predictor = TransformerPredictor(32, 12, d_predictor=16, n_layers=2, n_heads=4, d_ffn=64, dropout=0.0)
    reference_predictor = copy.deepcopy(predictor)
    context = torch.randn(5, 4, 32, requires_grad=True)
    context_positions = torch.stack([torch.randperm(12)[:4] for _ in range(5)])
    target_positions = torch.randint(0, 12, (3, 5, 3))
    upstream = torch.randn(15, 3, 32)
    reference = _reference_predictor(reference_predictor, context, context_positions, target_positions)
    want = _grads(reference_predictor, context, reference, upstream)
    output = predictor(context, context_positions, target_positions)
    assert output.shape == (15, 3, 32)
    assert torch.allclose(output, reference, atol=1e-5, rtol=1e-5)
    for got, expected in zip(_grads(predictor, context, output, upstream), want, strict=True):
        assert torch.allclose(got, expected, atol=1e-5, rtol=1e-4)


def test_tabular_layer_forward_under_bf16_autocast() -> None:
    layer = _layer(16, 4, 64)
    x = torch.randn(3, 5, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = encoder_layer_forward(layer, x)
        reference = layer(x)
    assert torch.allclose(output.float(), reference.float(), atol=5e-2)


def _reference_tjepa_step(objective, batch, masks):
    """Loss and target_std of one T-JEPA step as first written: every layer through
    nn.TransformerEncoderLayer.__call__, the predictor on the full sequence, Tensor.std."""
    from selfsup_tabular.losses.jepa_loss import jepa_latent_mse
    from selfsup_tabular.objectives.t_jepa import token_positions

    def encode(encoder, tokens):
        for layer in encoder.backbone.layers:
            tokens = layer(tokens)
        return encoder.backbone.head(tokens)

    tokens = objective.encoder.tokens(batch)
    rows = tokens.shape[0]
    context_positions, target_positions = token_positions(masks, objective.n_reg_tokens, "offset")
    row_index = torch.arange(rows)
    context = encode(objective.encoder, tokens[row_index[:, None], context_positions])
    with torch.no_grad():
        full = encode(objective.target_encoder, objective.target_encoder.tokens(batch))
        num_masks, _, num_targets = target_positions.shape
        targets = full[row_index[None, :, None], target_positions].reshape(num_masks * rows, num_targets, -1)
    predictions = _reference_predictor(objective.predictor, context, context_positions, target_positions)
    return jepa_latent_mse(predictions, targets), full.float().std(dim=0, correction=0).mean()


def test_tabular_tjepa_step_matches_the_module_computation() -> None:
    from selfsup_tabular.encoders import FTTransformer, FTTransformerConfig
    from selfsup_tabular.objectives import TJEPA, TJEPAConfig

    info = {"num_numerical": 4, "cardinalities": [3, 5], "num_features": 6, "task": "binary", "num_classes": 2}
    torch.manual_seed(3)
    encoder = FTTransformer(FTTransformerConfig(d_token=16, n_layers=2, n_heads=2, d_ffn=32), info)
    config = TJEPAConfig(predictor_dim=8, predictor_layers=2, predictor_heads=2, predictor_ffn=32)
    objective = TJEPA(config, encoder, info)
    with torch.no_grad():  # a target encoder that differs from the context encoder
        for parameter in objective.target_encoder.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    generator = torch.Generator().manual_seed(0)
    batch = {
        "numerical": torch.randn(32, 4, generator=generator),
        "categorical": torch.stack(
            [torch.randint(0, 3, (32,), generator=generator), torch.randint(0, 5, (32,), generator=generator)], 1
        ),
    }
    torch.manual_seed(7)
    output = objective.training_step(batch, step=1, phase="main")
    output["loss"].backward()
    grads = {name: p.grad.clone() for name, p in objective.named_parameters() if p.grad is not None}
    objective.zero_grad(set_to_none=True)
    torch.manual_seed(7)
    masks = objective.sample_masks(32, torch.device("cpu"))
    reference_loss, reference_std = _reference_tjepa_step(objective, batch, masks)
    reference_loss.backward()
    assert torch.allclose(output["loss"], reference_loss, atol=1e-6, rtol=1e-5)
    assert torch.allclose(output["target_std"], reference_std, atol=1e-6, rtol=1e-5)
    assert grads and set(grads) == {n for n, p in objective.named_parameters() if p.grad is not None}
    for name, parameter in objective.named_parameters():
        if parameter.grad is not None:
            assert torch.allclose(grads[name], parameter.grad, atol=1e-6, rtol=1e-4), name
