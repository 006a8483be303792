"""Attention with gpt-oss's sinks through PyTorch's fused scaled-dot-product kernel.

gpt-oss adds a learned "sink" logit per head to every softmax row (the row may put weight on
nothing). transformers runs that only as eager attention (`_supports_sdpa = False`): a dozen
separate tensor ops per layer whose n x n intermediates dominate a training step on a CPU (60% of
an SFT step on the miniature). The sink fits SDPA exactly as one extra key: queries get a constant
1 as an extra feature, real keys a 0, and a sink key whose extra feature is `sink / scale` scores
`sink` against every query; its value row is zero, so it only adds `exp(sink)` to the softmax's
denominator. The mask (causal, sliding window, padding, packed rows) is transformers' own,
with the sink column always visible. Gradients reach the sinks through the sink key.

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
                         **_: object) -> tuple[torch.Tensor, None]:
    """(output [batch, queries, heads, dim], None): softmax(q k^T * scaling + mask, with sinks) v.

    A padding-free row (several sequences, `position_ids` restarting at each) is attended one
    sequence at a time: no token sees another sequence, and the cost is the sum of the squared
    lengths rather than the square of their sum. (gpt-oss's own mask ignores `position_ids`, so
    eager attention would let packed sequences see each other.)
    """
    groups = query.shape[1] // key.shape[1]
    key = key.repeat_interleave(groups, dim=1)
    value = value.repeat_interleave(groups, dim=1)
    mask = _float_mask(attention_mask, query, key.shape[-2])
    starts = _sequence_starts(position_ids, query, key)
    if starts is None:
        return _attend(query, key, value, mask, scaling, dropout, s_aux), None
    bounds = [*starts, query.shape[-2]]
    pieces = [_attend(query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], mask[..., a:b, a:b], scaling, dropout, s_aux)
              for a, b in zip(bounds, bounds[1:], strict=False)]
    return torch.cat(pieces, dim=1), None


def _attend(query, key, value, mask, scaling, dropout, sinks) -> torch.Tensor:
    """One block of attention through SDPA, output [batch, queries, heads, dim]."""
    if sinks is not None:
        query, key, value, mask = _with_sink_key(query, key, value, mask, sinks, scaling)
    output = F.scaled_dot_product_attention(query, key, value, attn_mask=mask, dropout_p=dropout, scale=scaling)
    return output.transpose(1, 2).contiguous()


def _sequence_starts(position_ids: torch.Tensor | None, query: torch.Tensor, key: torch.Tensor) -> list[int] | None:
    """Where each packed sequence of a single padding-free row starts; None for an ordinary batch."""
    if position_ids is None or query.shape[0] != 1 or query.shape[-2] != key.shape[-2] or position_ids.shape[-1] != query.shape[-2]:
        return None
    positions = position_ids.reshape(-1)
    starts = (torch.nonzero(positions[1:] != positions[:-1] + 1).reshape(-1) + 1).tolist()
    return [0, *starts] if starts else None


def _float_mask(mask: torch.Tensor | None, query: torch.Tensor, keys: int) -> torch.Tensor:
    """An additive float mask [batch|1, 1, queries, keys]; causal (bottom-right aligned) when none is given."""
    if mask is None:
        queries = query.shape[-2]
        allowed = torch.ones(queries, keys, dtype=torch.bool, device=query.device).tril(keys - queries)
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
    value = torch.cat([value.new_zeros(batch, heads, 1, value.shape[-1]), value], dim=-2)
    visible = mask.new_zeros(*mask.shape[:-1], 1)
    return query, key, value, torch.cat([visible, mask], dim=-1)


def fused_attention_for(model_config: dict, cuda: bool) -> str | None:
    """NAME (registered) for a gpt-oss model where it replaces eager attention (`cuda` False); otherwise None."""
    if cuda or model_config.get("model_type") != "gpt_oss":
        return None
    return register()


def register() -> str:
    """Register the kernel (and transformers' eager masks for it) under NAME; returns NAME."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, eager_mask

    AttentionInterface.register(NAME, sdpa_sinks_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, eager_mask)
    return NAME
