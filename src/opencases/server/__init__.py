"""The HTTP server (Starlette + uvicorn) and, later, the event delivery worker."""
