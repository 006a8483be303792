"""Config: precedence, unknown keys with the nearest valid key, types, overrides, profiles."""

import pytest

from apprentice.config.models import (
    RunConfig,
    dump_config,
    load_config,
    parse_override,
    split_config_argument,
)
from apprentice.errors import ConfigError


def write(tmp_path, text: str):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    return path


def test_precedence_defaults_profile_yaml_override(tmp_path):
    path = write(tmp_path, "profile: tiny\nsft:\n  epochs: 7\n  learning_rate: 1e-3\n")
    config = load_config(path, ["sft.learning_rate=2e-3"])
    assert config.sft.epochs == 7  # YAML over the tiny profile's 5
    assert config.sft.learning_rate == pytest.approx(2e-3)  # override over YAML
    assert config.sft.max_steps == 450  # tiny profile over the field default (epochs decide)
    assert config.sft.grad_accum == 1  # tiny profile over the field default 4
    assert load_config(None, ["profile=real"]).sft.grad_accum == 4  # SPEC §2


def test_real_profile_is_the_spec(tmp_path):
    config = load_config(None, ["profile=real"])
    assert (config.lora.rank, config.lora.alpha) == (128, 256)
    assert config.preference.loss == "ipo" and config.preference.beta == 0.1 and config.preference.epochs == 1
    assert (config.grpo.steps, config.grpo.generations, config.grpo.temperature) == (5000, 4, 0.7)
    assert [p.max_seq_length for p in config.grpo.curriculum] == [4096, 8192, 16384, 32768]
    assert config.gates.sft.max_final_loss == 0.5 and config.gates.data.min_tasks == 3000


def test_misspelt_key_is_named_with_the_nearest_valid_key(tmp_path):
    path = write(tmp_path, "sft:\n  lerning_rate: 1e-4\n")
    with pytest.raises(ConfigError, match=r"unknown key 'sft.lerning_rate' in .*run.yaml; did you mean 'learning_rate'\?"):
        load_config(path, [])


def test_misspelt_key_inside_a_list_item(tmp_path):
    path = write(tmp_path, "grpo:\n  curriculum:\n    - until_step: 3\n      max_seq_lenght: 4\n")
    with pytest.raises(ConfigError, match=r"unknown key 'grpo.curriculum.0.max_seq_lenght'.*did you mean 'max_seq_length'"):
        load_config(path, [])


def test_unknown_top_level_key_lists_valid_ones_when_nothing_is_close(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'zzz'.*valid keys here: name, runs_dir"):
        load_config(write(tmp_path, "zzz: 1\n"), [])


def test_wrong_type_names_key_and_value(tmp_path):
    with pytest.raises(ConfigError, match=r"'sft.learning_rate' in overrides: .*valid number.*\(got 'fast'\)"):
        load_config(None, ["sft.learning_rate=fast"])


def test_unknown_template_path_names_the_known_ones():
    assert load_config(None, ["profile=real"]).sft_data.template_paths == ["explore", "retry", "search", "test_first"]
    assert "retry" not in load_config(None, ["profile=tiny"]).sft_data.template_paths
    with pytest.raises(ConfigError, match=r"'sft_data.template_paths.1' in overrides: .*'explore', 'retry', 'search' "
                                          r"or 'test_first' \(got 'guess'\)"):
        load_config(None, ["sft_data.template_paths=[retry,guess]"])


def test_unknown_language_names_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown target 'rustt' \(known: python, rust, typescript, go\)"):
        load_config(None, ["targets=[python, rustt]"])


def test_malformed_yaml_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line 2"):
        load_config(write(tmp_path, "a: [\n"), [])


def test_non_mapping_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"), [])
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml", [])


def test_bad_override_syntax():
    with pytest.raises(ConfigError, match=r"override 'sft.epochs' is not key.path=value"):
        parse_override("sft.epochs")
    assert parse_override("a.b=[1, 2]") == (["a", "b"], [1, 2])


def test_curriculum_must_cover_the_steps():
    with pytest.raises(ConfigError, match="must increase and reach steps=100"):
        load_config(None, ["profile=real", "grpo.steps=100",
                           ("grpo.curriculum=[{until_step: 50, max_seq_length: 8, tasks: module, "
                            "tool_pattern: single, reasoning_effort: low}]")])


def test_dump_round_trips(tmp_path):
    config = load_config(None, ["name=x", "targets=[go, rust]", "tasks.repos={go: /r/go, rust: /r/rust}"])
    path = write(tmp_path, dump_config(config))
    assert load_config(path, []) == config
    assert isinstance(config, RunConfig) and config.run_dir.name == "x"


def test_show_treats_a_first_argument_with_equals_as_an_override(tmp_path):
    assert split_config_argument("sft.epochs=1", []) == (None, ["sft.epochs=1"])
    path = write(tmp_path, "")
    assert split_config_argument(str(path), ["a=1"]) == (path, ["a=1"])


def test_statement_levels_must_be_distinct_known_levels():
    from apprentice.errors import ConfigError

    assert load_config(None, ["tasks.levels=[0, 2]"]).tasks.levels == [0, 2]
    assert load_config(None, []).tasks.levels == [1]
    for bad in ("[3]", "[1, 1]", "[]"):
        with pytest.raises(ConfigError, match="levels"):
            load_config(None, [f"tasks.levels={bad}"])
