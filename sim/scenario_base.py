"""What every scenario model shares: strict validation (no type coercion, no unknown keys)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

GROUP_NAME = r"^[a-z][a-z0-9_]*$"
SHARE_TOLERANCE = 1e-6


class _Strict(BaseModel):
    # strict: a quoted "3000" is not a number and "yes" is not true; no NaN or infinity.
    # protected_namespaces=(): keys such as population.groups.model_group are the format's own
    # (pydantic 2.6 to 2.9 warn about a "model_" prefix otherwise).
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False, protected_namespaces=()
    )
