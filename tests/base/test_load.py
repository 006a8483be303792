"""Loading and inspecting local model directories, and the errors for ones that are not."""

import json

import pytest

from apprentice.base.load import inspect_base, load_base, read_model_config
from apprentice.errors import BaseModelError


def test_load_base_returns_model_and_tokenizer_offline(tiny_base):
    model, tokenizer = load_base(tiny_base)
    assert type(model).__name__ == "GptOssForCausalLM" and not model.training
    assert tokenizer.eos_token == "<|return|>"


def test_missing_directory_names_the_path_and_the_fix(tmp_path):
    with pytest.raises(BaseModelError, match="does not exist; run `apprentice base init"):
        read_model_config(tmp_path / "nope")


def test_directory_without_config_is_not_a_model(tmp_path):
    with pytest.raises(BaseModelError, match="no config.json"):
        inspect_base(tmp_path)


def test_non_causal_architecture_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["BertForMaskedLM"], "model_type": "bert"}))
    with pytest.raises(BaseModelError, match="not a causal LM"):
        read_model_config(tmp_path)


def test_corrupt_config_json_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(BaseModelError, match="config.json' is not valid JSON"):
        read_model_config(tmp_path)
