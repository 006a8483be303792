"""The base model: the embedded miniature gpt-oss (tiny.py), loading any local causal LM (load.py), LoRA on attention and experts (lora.py)."""
