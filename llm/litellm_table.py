"""The one place litellm is imported, so its offline price table is chosen before anything reads it. Its own
module so the price table (llm/pricing.py) and token counting load litellm without the OpenAI adapter."""

from __future__ import annotations

import os
from types import ModuleType


def load_litellm() -> ModuleType:
    """litellm, imported on first use: the import takes seconds, and by default it fetches its price table
    from GitHub. The table shipped with the pinned version is used instead, so prices are reproducible and a
    worker with no internet does not stall (an operator can still set LITELLM_LOCAL_MODEL_COST_MAP=False)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banners in worker logs
    return litellm
