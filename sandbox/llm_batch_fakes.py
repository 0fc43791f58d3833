"""OpenAI Batch and Gemini batch mode, faked on the wire for the official SDKs (see sandbox/llm_fakes.py).

A batch behaves as the next step of FakeLLM.batch_script says (BATCH_ENDED when empty): ended at the first poll,
slow (two polls in progress), stuck until cancelled, expired, or partial (its first request errored). Every
request a batch answers is answered as the synchronous fake would answer it, with a canned payload at the head
of FakeLLM.script (a dict or pydantic model) taken first.

    OpenAI: POST /v1/files (multipart, purpose "batch"), GET /v1/files/{id}/content, POST /v1/batches,
            GET /v1/batches[/{id}], POST /v1/batches/{id}/cancel; answers in an output file, failures and the
            requests never run (batch_expired, batch_cancelled) in an error file.
    Gemini: POST /v1beta/models/{model}:batchGenerateContent (inlined requests), GET /v1beta/batches[/{id}],
            POST /v1beta/batches/{id}:cancel; a long-running operation whose metadata is the batch, its
            answers in metadata.output.inlinedResponses.
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import json
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from sandbox.llm_fakes import (
    BATCH_ENDED,
    BATCH_EXPIRED,
    BATCH_PARTIAL,
    BATCH_SLOW,
    BATCH_STUCK,
    GOOD,
    FakeLLM,
    Step,
    respond,
)

PARTIAL_ERROR = "prompt is too long"
OPERATION_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _canned(fake: FakeLLM) -> Step:
    """A canned answer (a dict or model) at the head of the script answers a batched request as it would a
    synchronous one; anything else in the script is for synchronous calls."""
    with fake._lock:
        if fake.script and isinstance(fake.script[0], dict | BaseModel):
            return fake.script.popleft()
    return GOOD


def new_batch(fake: FakeLLM, vendor: str, prefix: str, requests: list[tuple[str, str, dict[str, Any]]]) -> str:
    """Record a batch of (custom_id, model, request body) as the script's next step says it will go."""
    with fake._lock:
        step = fake.batch_script.popleft() if fake.batch_script else BATCH_ENDED
        bid = f"{prefix}{len(fake.batches) + 1:04d}"
    results = []
    for i, (cid, model, body) in enumerate(requests):
        if step == BATCH_EXPIRED:
            results.append((cid, "expired", None))
        elif step == BATCH_PARTIAL and i == 0:
            results.append((cid, "errored", None))
        else:
            answer = respond(fake, vendor, model, _canned(fake), body)
            results.append((cid, "succeeded", json.loads(bytes(answer.body))))
    fake.batches[bid] = {
        "vendor": vendor,
        "status": "in_progress",
        "polls": {BATCH_SLOW: 2, BATCH_STUCK: 10**9}.get(step, 0),
        "results": results,
        "expired": step == BATCH_EXPIRED,
        "created_at": _now(),
    }
    return bid


def advance(fake: FakeLLM, bid: str) -> dict[str, Any]:
    """A poll: a batch in progress ends when its polls run out."""
    b = fake.batches[bid]
    if b["status"] == "in_progress":
        if b["polls"] <= 0:
            b["status"] = "ended"
        b["polls"] -= 1
    return b


def cancel(fake: FakeLLM, bid: str) -> dict[str, Any]:
    b = fake.batches[bid]
    if b["status"] == "in_progress":
        b.update(status="ended", canceled_at=_now())
        b["results"] = [(cid, "canceled", None) for cid, _, _ in b["results"]]
    return b


def _log(fake: FakeLLM, request: Request, body: Any) -> None:
    with fake._lock:
        fake.requests.append({"path": request.url.path, "headers": dict(request.headers), "body": body})


# ---- OpenAI Batch ------------------------------------------------------------------------------------------


def _multipart(content_type: str, data: bytes) -> dict[str, tuple[str | None, bytes]]:
    """name -> (filename, bytes) of a multipart/form-data body (the standard library's MIME parser)."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + data
    )
    out: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        out[str(name)] = (part.get_filename(), part.get_payload(decode=True) or b"")
    return out


def _openai_files(fake: FakeLLM, bid: str) -> tuple[str | None, str | None]:
    """The output and error files of an ended batch, written once."""
    b = fake.batches[bid]
    if "files" not in b:
        out, err = [], []
        for n, (cid, kind, body) in enumerate(b["results"]):
            line: dict[str, Any] = {"id": f"batch_req_fake{n}", "custom_id": cid}
            if kind == "succeeded":
                out.append(line | {"response": {"status_code": 200, "request_id": f"req_{n}", "body": body}})
            elif kind == "errored":
                error = {"message": PARTIAL_ERROR, "type": "invalid_request_error", "param": None, "code": None}
                err.append(
                    line | {"response": {"status_code": 400, "request_id": f"req_{n}", "body": {"error": error}}}
                )
            else:
                code, why = {
                    "expired": ("batch_expired", "This request could not be executed before the completion window."),
                    "canceled": ("batch_cancelled", "This request was not executed because the batch was cancelled."),
                }[kind]
                err.append(line | {"response": None, "error": {"code": code, "message": why}})
        ids = []
        for suffix, lines in (("out", out), ("err", err)):
            if lines:
                fid = f"file-{bid}-{suffix}"
                fake.files[fid] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                ids.append(fid)
            else:
                ids.append(None)
        b["files"] = tuple(ids)
    return b["files"]


def _openai_batch(fake: FakeLLM, bid: str) -> dict[str, Any]:
    b = fake.batches[bid]
    ended = b["status"] == "ended"
    status = "in_progress"
    if ended:
        status = "cancelled" if b.get("canceled_at") else "expired" if b["expired"] else "completed"
    out, err = _openai_files(fake, bid) if ended else (None, None)
    kinds = [k for _, k, _ in b["results"]]
    created = int(b["created_at"].timestamp())
    return {
        "id": bid,
        "object": "batch",
        "endpoint": "/v1/chat/completions",
        "errors": None,
        "input_file_id": b["input_file_id"],
        "completion_window": "24h",
        "status": status,
        "output_file_id": out,
        "error_file_id": err,
        "created_at": created,
        "in_progress_at": created,
        "expires_at": created + 86400,
        "completed_at": created + 60 if status == "completed" else None,
        "expired_at": created + 86400 if status == "expired" else None,
        "cancelled_at": created + 60 if status == "cancelled" else None,
        "request_counts": {
            "total": len(kinds),
            "completed": kinds.count("succeeded") if ended else 0,
            "failed": len(kinds) - kinds.count("succeeded") if ended else 0,
        },
        "metadata": b["metadata"],
    }


def add_openai_batch_routes(app: FastAPI, fake: FakeLLM) -> None:
    @app.post("/v1/files")
    async def upload(request: Request) -> JSONResponse:
        form = _multipart(request.headers["content-type"], await request.body())
        filename, data = form["file"]
        _log(fake, request, {"purpose": form["purpose"][1].decode(), "filename": filename, "lines": data.decode()})
        with fake._lock:
            fid = f"file-fake{len(fake.files) + 1:04d}"
            fake.files[fid] = data
        return JSONResponse(
            {
                "id": fid,
                "object": "file",
                "bytes": len(data),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": form["purpose"][1].decode(),
                "status": "processed",
            }
        )

    @app.get("/v1/files/{fid}/content")
    async def content(fid: str) -> Response:
        return Response(fake.files[fid], media_type="application/octet-stream")

    @app.post("/v1/batches")
    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        _log(fake, request, body)
        lines = [json.loads(x) for x in fake.files[body["input_file_id"]].decode().splitlines() if x]
        bid = new_batch(fake, "openai", "batch_fake", [(x["custom_id"], x["body"]["model"], x["body"]) for x in lines])
        fake.batches[bid] |= {"input_file_id": body["input_file_id"], "metadata": body.get("metadata")}
        return JSONResponse(_openai_batch(fake, bid))

    @app.get("/v1/batches")
    async def listing() -> JSONResponse:
        data = [_openai_batch(fake, bid) for bid in reversed(fake.batches)]  # newest first
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return JSONResponse({"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": False})

    @app.get("/v1/batches/{bid}")
    async def retrieve(bid: str) -> JSONResponse:
        advance(fake, bid)
        return JSONResponse(_openai_batch(fake, bid))

    @app.post("/v1/batches/{bid}/cancel")
    async def cancel_route(bid: str) -> JSONResponse:
        cancel(fake, bid)
        return JSONResponse(_openai_batch(fake, bid))


# ---- Gemini batch mode -------------------------------------------------------------------------------------


def _gemini_operation(fake: FakeLLM, bid: str) -> dict[str, Any]:
    b = fake.batches[bid]
    ended = b["status"] == "ended"
    state = "BATCH_STATE_RUNNING"
    if ended:
        state = "BATCH_STATE_CANCELLED" if b.get("canceled_at") else "BATCH_STATE_EXPIRED" if b["expired"] else ""
        state = state or "BATCH_STATE_SUCCEEDED"
    meta: dict[str, Any] = {
        "@type": OPERATION_TYPE,
        "model": f"models/{b['model']}",
        "displayName": b["display_name"],
        "state": state,
        "createTime": b["created_at"].isoformat().replace("+00:00", "Z"),
        "updateTime": _now().isoformat().replace("+00:00", "Z"),
        "batchStats": {"requestCount": str(len(b["results"]))},
    }
    if state == "BATCH_STATE_SUCCEEDED":
        responses = []
        for cid, kind, body in b["results"]:
            if kind == "succeeded":
                responses.append({"response": body, "metadata": {"key": cid}})
            else:
                responses.append({"error": {"code": 400, "message": PARTIAL_ERROR}, "metadata": {"key": cid}})
        output = {"inlinedResponses": {"inlinedResponses": responses}}
        meta["output"] = output
        return {"name": bid, "metadata": meta, "done": True, "response": {"@type": OPERATION_TYPE, **output}}
    return {"name": bid, "metadata": meta, "done": ended}


def add_google_batch_routes(app: FastAPI, fake: FakeLLM) -> None:
    for version in ("v1beta", "v1"):  # google-genai 3.x calls the v1 API unless told otherwise

        @app.get(f"/{version}/batches")
        async def listing() -> JSONResponse:
            return JSONResponse({"operations": [_gemini_operation(fake, b) for b in reversed(fake.batches)]})

        @app.get(f"/{version}/batches/{{bid}}")
        async def get(bid: str) -> JSONResponse:
            advance(fake, f"batches/{bid}")
            return JSONResponse(_gemini_operation(fake, f"batches/{bid}"))

        @app.post(f"/{version}/batches/{{target}}")
        async def cancel_route(target: str) -> JSONResponse:
            bid, _, verb = target.partition(":")
            if verb != "cancel":
                return JSONResponse({"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}, 404)
            cancel(fake, f"batches/{bid}")
            return JSONResponse({})


async def create_gemini_batch(fake: FakeLLM, model: str, request: Request) -> JSONResponse:
    """POST /v1beta/models/{model}:batchGenerateContent (routed here by llm_fakes.build_app)."""
    body = await request.json()
    _log(fake, request, body)
    batch = body["batch"]
    inlined = batch["inputConfig"]["requests"]["requests"]
    requests = [(r.get("metadata", {}).get("key", str(i)), model, r["request"]) for i, r in enumerate(inlined)]
    bid = new_batch(fake, "google", "batches/fake", requests)
    fake.batches[bid] |= {"model": model, "display_name": batch.get("displayName", "")}
    return JSONResponse(_gemini_operation(fake, bid))
