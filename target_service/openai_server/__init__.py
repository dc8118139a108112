"""An OpenAI-compatible server over the bundled service's LLM backends (``target_service.llm``).

``python -m target_service.openai_server --port P [--backend local|simulated|openai] [--api-key KEY ...]``

``/v1/chat/completions`` and ``/v1/completions`` (whole answers, or ``stream: true`` Server-Sent Events
of ``chat.completion.chunk`` / ``text_completion`` objects ending ``data: [DONE]``, usage as OpenAI
gives it: in the answer, or in a last chunk with ``stream_options.include_usage``), ``/v1/models``,
``/v1/embeddings`` (the service's MiniLM embedder), ``/health``, and ``/metrics`` (the
prometheus-fastapi-instrumentator defaults, as vLLM's OpenAI server exposes them). A bad request gets
a 400 in OpenAI's error shape, an unknown model 404, a missing or wrong key 401 (when keys are set).
"""
