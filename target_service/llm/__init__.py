"""LLM backends behind one interface (``base.LLM``), chosen by ``AGENT_LLM_BACKEND``."""
