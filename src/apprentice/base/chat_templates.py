"""Chat formats: which template a tokenizer carries, and the templates TRL ships as data.

The gpt-oss template is read from the installed TRL package rather than copied here, so TRL's
response parsing recognises it byte for byte and reads tool calls back.
"""

from trl import chat_template_utils

HARMONY = "harmony"
QWEN = "qwen"
UNKNOWN = "unknown"
NONE = "none"


def gptoss_chat_template() -> str:
    """The gpt-oss (Harmony) chat template as shipped by the installed TRL."""
    return chat_template_utils.gptoss_chat_template


def detect_chat_format(chat_template: str | None) -> str:
    """Name the chat format of a template: harmony (gpt-oss), qwen (`<tool_call>` JSON), unknown, none."""
    if not chat_template:
        return NONE
    if "<|channel|>" in chat_template and "<|start|>" in chat_template:
        return HARMONY
    if "<tool_call>" in chat_template:
        return QWEN
    return UNKNOWN


def is_trl_known_template(chat_template: str | None) -> bool:
    """Whether TRL recognises this template exactly and can add a response parser for it."""
    known = (value for name, value in vars(chat_template_utils).items() if name.endswith("_chat_template"))
    return any(chat_template == template for template in known if isinstance(template, str))
