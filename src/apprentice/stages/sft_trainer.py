"""SFTTrainer that scores only the positions carrying loss when TRL's compact kernel is unavailable.

TRL's fused LM head scores just the assistant positions on CUDA/XPU (Triton), but everywhere else it
runs its chunked log-prob over *every* position, prompt and tool results included, and its backward
tile is slow on a CPU: 37% of an SFT step on the miniature, where 85% of the positions carry no
loss. Here the model is asked for the logits of the trained positions only (`logits_to_keep` with
their indices), so the LM head and its gradient cost what the assistant tokens need. The loss, the
MoE auxiliary loss and the logged metrics (entropy, token accuracy, tokens) follow TRL's
`compute_loss`; on Triton devices, with label smoothing, a custom loss or when outputs are
requested, TRL's own path runs unchanged.
"""

from __future__ import annotations

import torch
from trl import SFTTrainer

IGNORE = -100


def _use_triton(device: torch.device) -> bool:
    """Whether TRL scores only the trained positions itself (its Triton kernel, CUDA/XPU)."""
    try:
        from trl.kernels.chunked_logprob import _use_triton as trl_uses_triton
    except ImportError:  # a TRL without the fused LM head: its loss reads full logits everywhere
        return False
    return trl_uses_triton(device)


class CompactLossSFTTrainer(SFTTrainer):
    """SFTTrainer whose loss, off Triton devices, reads logits at the trained positions only."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        labels = inputs.get("labels")
        if (return_outputs or labels is None or self.compute_loss_func is not None or self.label_smoother is not None
                or self.args.loss_type != "nll" or _use_triton(labels.device)):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        mode = "train" if self.model.training else "eval"
        targets = labels[:, 1:]
        # Positions whose next token is trained in any row of the batch (1-D, as `logits_to_keep` wants).
        keep = (targets != IGNORE).any(dim=0).nonzero().squeeze(-1)
        forward = {key: value for key, value in inputs.items() if key != "labels"}
        forward["use_cache"] = False
        if self.aux_loss_enabled:
            forward["output_router_logits"] = True
        outputs = model(**forward, logits_to_keep=keep)
        logits = outputs.logits.float()
        kept = targets[:, keep]
        mask = kept != IGNORE
        log_probs = torch.log_softmax(logits, dim=-1)
        token_log_probs = log_probs.gather(-1, kept.clamp(min=0).unsqueeze(-1)).squeeze(-1) * mask
        num_tokens = mask.sum() if num_items_in_batch is None else num_items_in_batch
        loss = -token_log_probs.sum() / torch.as_tensor(num_tokens).clamp(min=1)
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * (self.accelerator.num_processes // self.get_tp_size())
        if self.aux_loss_enabled and getattr(outputs, "aux_loss", None) is not None:
            steps = self.current_gradient_accumulation_steps if num_items_in_batch is not None else 1
            loss = loss + self.router_aux_loss_coef * outputs.aux_loss / steps
            self._metrics[mode]["aux_loss"].append(self.accelerator.gather_for_metrics(outputs.aux_loss.detach()).mean().item())
        self._log_token_metrics(mode, log_probs.detach(), logits.detach(), kept, mask, inputs)
        return loss

    def _log_token_metrics(self, mode: str, log_probs, logits, kept, mask, inputs) -> None:
        """Entropy, top-1 accuracy and token count, as TRL logs them, from the kept positions."""
        entropy = -(log_probs.exp() * log_probs).sum(-1)
        correct = (logits.argmax(-1) == kept) & mask
        gather = self.accelerator.gather_for_metrics
        valid = gather(mask.sum()).sum()
        self._metrics[mode]["entropy"].append((gather((entropy * mask).sum()).sum() / valid).item() if valid > 0 else 0.0)
        self._metrics[mode]["mean_token_accuracy"].append((gather(correct.sum()).sum() / valid).item() if valid > 0 else 0.0)
        if mode == "train":
            if "attention_mask" in inputs:
                batch_tokens = gather(inputs["attention_mask"].sum()).sum().item()
            else:  # padding-free rows: every position is a real token
                batch_tokens = gather(torch.tensor(inputs["input_ids"].numel(), device=kept.device)).sum().item()
            self._total_train_tokens += batch_tokens // self._tp_size
        self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
