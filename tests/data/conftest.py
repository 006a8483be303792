"""Data tests reuse the agent tests' fake OpenAI-compatible server (tests/agent/fake_openai_server.py)."""

import sys
from pathlib import Path

AGENT_TESTS = Path(__file__).resolve().parents[1] / "agent"
if str(AGENT_TESTS) not in sys.path:
    sys.path.append(str(AGENT_TESTS))
