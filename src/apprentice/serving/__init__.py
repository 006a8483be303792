"""The OpenAI-compatible router and the vLLM export."""
