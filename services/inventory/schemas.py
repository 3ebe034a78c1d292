"""The inventory API's request bodies."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class RestockRequest(BaseModel):
    """Body of `POST /inventory/{productId}/restock`."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [{"quantity": 10}]})

    quantity: Annotated[int, Field(strict=True, gt=0, le=1_000_000)]
