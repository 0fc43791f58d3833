"""The inbox page: one static HTML file, no build step, calling the same API an operator could call by hand."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
PAGE = Path(__file__).parent / "static" / "inbox.html"


@router.get("/app/renewal_hunter/inbox", response_class=HTMLResponse)
async def inbox() -> HTMLResponse:
    return HTMLResponse(PAGE.read_text())
