"""The yardstick for bench/webhook_throughput.py: a bare FastAPI `POST` that awaits the body."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)


@app.post("/webhook")
async def webhook(request: Request) -> JSONResponse:
    await request.body()
    return JSONResponse({"status": "queued"}, status_code=202)
