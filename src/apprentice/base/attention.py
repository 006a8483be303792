"""Attention with gpt-oss's sinks through PyTorch's fused scaled-dot-product kernel.

gpt-oss adds a learned "sink" logit per head to every softmax row (the row may put weight on
nothing). transformers runs that only as eager attention (`_supports_sdpa = False`): a dozen
separate tensor ops per layer whose n x n intermediates dominate a training step on a CPU (60% of
an SFT step on the miniature). The sink fits SDPA exactly as one extra key: queries get a constant
1 as an extra feature, real keys a 0, and a sink key whose extra feature is `sink / scale` scores
`sink` against every query; its value row is zero, so it only adds `exp(sink)` to the softmax's
denominator. The mask (causal, sliding window, padding) is transformers' own where there is
padding or a cache, else built per sequence by the kernel; the sink column is always visible.
Gradients reach the sinks through the sink key.

`register()` makes it available as `attn_implementation="fused_sinks"`; the training stages load
gpt-oss with it on a CPU, and on CUDA for packed SFT (`stages.common.load_for_training`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

NAME = "fused_sinks"


def sdpa_sinks_attention(module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                         attention_mask: torch.Tensor | None, scaling: float, dropout: float = 0.0,
                         s_aux: torch.Tensor | None = None, position_ids: torch.Tensor | None = None,
                         sliding_window: int | None = None, **_: object) -> tuple[torch.Tensor, None]:
    """(output [batch, queries, heads, dim], None): softmax(q k^T * scaling + mask, with sinks) v.

    A padding-free row (several sequences, `position_ids` restarting at each) is attended one
    sequence at a time: no token sees another sequence, and the cost is the sum of the squared
    lengths rather than the square of their sum. (gpt-oss's own mask ignores `position_ids`, so
    eager attention would let packed sequences see each other.) Without a mask (`whole_sequence_mask`
    gave none), each block builds its own causal mask, within `sliding_window` on sliding layers.
    """
    groups = query.shape[1] // key.shape[1]
    key = key.repeat_interleave(groups, dim=1)
    value = value.repeat_interleave(groups, dim=1)
    full = None if attention_mask is None else _float_mask(attention_mask, query, key.shape[-2])
    starts = _sequence_starts(position_ids, query, key)
    if starts is None:
        mask = full if full is not None else _float_mask(None, query, key.shape[-2], sliding_window)
        return _attend(query, key, value, mask, scaling, dropout, s_aux), None
    bounds = [*starts, query.shape[-2]]
    pieces = []
    for a, b in zip(bounds, bounds[1:], strict=False):
        mask = full[..., a:b, a:b] if full is not None else _float_mask(None, query[:, :, a:b], b - a, sliding_window)
        pieces.append(_attend(query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], mask, scaling, dropout, s_aux))
    return torch.cat(pieces, dim=1), None


def _attend(query, key, value, mask, scaling, dropout, sinks) -> torch.Tensor:
    """One block of attention through SDPA, output [batch, queries, heads, dim]."""
    width = value.shape[-1]
    if sinks is not None:
        query, key, value, mask = _with_sink_key(query, key, value, mask, sinks, scaling)
    output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling)
    return output[..., :width].transpose(1, 2).contiguous()


def _sequence_starts(position_ids: torch.Tensor | None, query: torch.Tensor, key: torch.Tensor) -> list[int] | None:
    """Where each packed sequence of a single padding-free row starts; None for an ordinary batch."""
    if position_ids is None or query.shape[0] != 1 or query.shape[-2] != key.shape[-2] or position_ids.shape[-1] != query.shape[-2]:
        return None
    positions = position_ids.reshape(-1)
    starts = (torch.nonzero(positions[1:] != positions[:-1] + 1).reshape(-1) + 1).tolist()
    return [0, *starts] if starts else None


def _float_mask(mask: torch.Tensor | None, query: torch.Tensor, keys: int, window: int | None = None) -> torch.Tensor:
    """An additive float mask [batch|1, 1, queries, keys]; when none is given, causal (bottom-right aligned) and
    within `window` (a query sees the `window` keys up to its own: transformers' sliding_window_overlay)."""
    if mask is None:
        queries = query.shape[-2]
        ones = torch.ones(queries, keys, dtype=torch.bool, device=query.device)
        allowed = ones.tril(keys - queries)
        if window is not None:
            allowed &= ~ones.tril(keys - queries - window)
        mask = allowed[None, None]
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=query.dtype, device=query.device).masked_fill(
            ~mask, torch.finfo(query.dtype).min)
    return mask[..., :keys].to(query.dtype)


def _with_sink_key(query, key, value, mask, sinks, scaling):
    """Inputs with one extra feature and one extra, always visible, key that scores `sinks` per head."""
    batch, heads, queries, dim = query.shape
    # The extra feature, then zeros up to a multiple of 8 on GPUs (their fused kernels want aligned head sizes).
    extra = 1 + ((-(dim + 1)) % 8 if query.is_cuda else 0)
    marker = query.new_zeros(batch, heads, queries, extra)
    marker[..., 0] = 1.0
    query = torch.cat([query, marker], dim=-1)
    key = torch.cat([key, key.new_zeros(batch, heads, key.shape[-2], extra)], dim=-1)
    sink_feature = (sinks.to(key.dtype) / scaling).view(1, heads, 1, 1).expand(batch, heads, 1, 1)
    sink_key = torch.cat([key.new_zeros(batch, heads, 1, dim), sink_feature,
                          key.new_zeros(batch, heads, 1, extra - 1)], dim=-1)
    key = torch.cat([sink_key, key], dim=-2)
    # Values widened to the keys' size with zeros (cut from the output): the fused CPU kernel wants one head size
    # for all three, and falls back to the unfused one, 1.7x slower with its gradients, when they differ.
    value = torch.cat([value, value.new_zeros(*value.shape[:-1], key.shape[-1] - value.shape[-1])], dim=-1)
    value = torch.cat([value.new_zeros(batch, heads, 1, value.shape[-1]), value], dim=-2)
    visible = mask.new_zeros(*mask.shape[:-1], 1)
    return query, key, value, torch.cat([visible, mask], dim=-1)


def fused_attention_for(model_config: dict, cuda: bool) -> str | None:
    """NAME (registered) for a gpt-oss model where it replaces eager attention (`cuda` False); otherwise None."""
    if cuda or model_config.get("model_type") != "gpt_oss":
        return None
    return register()


def whole_sequence_mask(batch_size: int, q_length: int, kv_length: int, q_offset: int = 0, kv_offset: int = 0,
                        attention_mask: torch.Tensor | None = None, **options):
    """No mask for whole, unpadded sequences (training rows, packed or not): the kernel builds each sequence's own;
    transformers' eager mask otherwise (padding, a cache).

    A padding-free packed batch is one row of every sequence: its eager mask is (sum of the lengths)^2 floats per
    layer type (a 4-sequence row of 1k tokens each: 64 MB), built and scanned each step although the kernel only
    reads the blocks on the diagonal.
    """
    from transformers.masking_utils import eager_mask

    # use_vmap marks a custom or/and mask function on top of the causal one: only the eager mask knows it.
    if attention_mask is None and q_offset == 0 and kv_offset == 0 and q_length == kv_length and not options.get("use_vmap"):
        return None
    return eager_mask(batch_size=batch_size, q_length=q_length, kv_length=kv_length, q_offset=q_offset,
                      kv_offset=kv_offset, attention_mask=attention_mask, **options)


def register() -> str:
    """Register the kernel (and its masks, `whole_sequence_mask`) under NAME; returns NAME."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS

    AttentionInterface.register(NAME, sdpa_sinks_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, whole_sequence_mask)
    return NAME
