"""The compact SFT loss equals TRL's own (loss, gradients, logged metrics), scoring only trained positions."""

import torch
from stage_data import small_config, write_trajectories

from apprentice.stages import sft
from apprentice.stages.common import Hardware
from apprentice.stages.result import StageInputs
from apprentice.stages.sft_data import read_trajectories
from apprentice.stages.sft_trainer import CompactLossSFTTrainer


def _trainer_and_batch(tiny_base, tmp_path, batch_size: int):
    data = write_trajectories(tmp_path / "sft.jsonl", 6)
    inputs = StageInputs("python", tmp_path / "sft", tiny_base, data=data)
    inputs.stage_dir.mkdir(parents=True)
    config = small_config(f"sft.batch_size={batch_size}", "sft.packing=false")
    trainer, _ = sft.setup(config, inputs, read_trajectories(data), Hardware())
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    return trainer, batch


def _loss_and_grads(trainer, batch, compute):
    trainer.model.zero_grad()
    loss = compute(trainer.model, dict(batch))
    loss.backward()
    grads = {name: p.grad.clone() for name, p in trainer.model.named_parameters() if p.grad is not None}
    metrics = {key: values[-1] for key, values in trainer._metrics["train"].items() if values}
    return loss.detach(), grads, metrics


def test_compact_loss_equals_trls_loss_and_gradients(tiny_base, tmp_path):
    trainer, batch = _trainer_and_batch(tiny_base, tmp_path, batch_size=2)
    assert isinstance(trainer, CompactLossSFTTrainer)
    assert batch["input_ids"].shape[0] == 2 and (batch["labels"] == -100).any()
    trainer.model.train()
    ours, our_grads, our_metrics = _loss_and_grads(trainer, batch, trainer.compute_loss)
    trls, trl_grads, trl_metrics = _loss_and_grads(
        trainer, batch, lambda model, inputs: super(CompactLossSFTTrainer, trainer).compute_loss(model, inputs))
    assert ours.item() > 0.5
    assert torch.allclose(ours, trls, rtol=1e-4), (ours, trls)
    assert our_grads.keys() == trl_grads.keys() and len(our_grads) > 10
    for name, grad in our_grads.items():
        assert torch.allclose(grad, trl_grads[name], atol=1e-6, rtol=1e-3), name
    for key in ("entropy", "mean_token_accuracy"):
        assert abs(our_metrics[key] - trl_metrics[key]) < 1e-3, key


def test_compact_loss_reads_logits_only_where_labels_are(tiny_base, tmp_path, monkeypatch):
    trainer, batch = _trainer_and_batch(tiny_base, tmp_path, batch_size=1)
    seen = []
    head = trainer.model.get_output_embeddings()
    monkeypatch.setattr(head, "forward", lambda hidden, _forward=head.forward: seen.append(hidden.shape[1]) or _forward(hidden))
    trainer.compute_loss(trainer.model, dict(batch))
    trained = int((batch["labels"][:, 1:] != -100).sum())
    assert seen == [trained] and trained < batch["input_ids"].shape[1] / 2
