"""CORS on every devsfu response, as livekit-server sends it: any origin, access rests on the token.

A browser SDK fetches ``/rtc/validate`` (or ``/rtc/v1/validate``) from its page to learn why a
WebSocket upgrade failed; without these headers the browser hides the answer, and the SDK reports
"server unreachable" instead of the refusal or falls back to nothing. livekit-server wraps its
whole HTTP mux in ``rs/cors`` with an origin check that accepts everything, methods
``OPTIONS HEAD GET POST PATCH DELETE``, any request header, every response header exposed and a
preflight cached for a day; its auth middleware adds ``Access-Control-Allow-Origin: *`` to the
two validate paths. devsfu does the same, errors included:

- a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered 204 before
  routing, echoing the origin, the requested method and the requested headers, with
  ``Access-Control-Max-Age: 86400``;
- every other response gets ``Vary: Origin`` and, when the request has an ``Origin`` and an
  allowed method, ``Access-Control-Allow-Origin: <origin>`` and
  ``Access-Control-Expose-Headers: *``; the validate paths answer ``*`` whatever the request.

No credentials are ever allowed (``Access-Control-Allow-Credentials`` is never sent).
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

ALLOWED_METHODS = frozenset({"OPTIONS", "HEAD", "GET", "POST", "PATCH", "DELETE"})
MAX_AGE_S = 86400
VALIDATE_PATHS = frozenset({"/rtc/validate", "/rtc/v1/validate"})
_PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"


def install(app: web.Application) -> None:
    """Answer preflights and add CORS headers to every response of ``app``."""
    app.middlewares.append(_preflight)
    app.on_response_prepare.append(_add_headers)


def _is_preflight(request: web.BaseRequest) -> bool:
    return request.method == hdrs.METH_OPTIONS and hdrs.ACCESS_CONTROL_REQUEST_METHOD in (
        request.headers
    )


@web.middleware
async def _preflight(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_preflight(request):
        return await handler(request)
    # Standalone, as in rs/cors: a preflight carries no token, so it never reaches a route.
    response = web.Response(status=204)
    headers = response.headers
    headers[hdrs.VARY] = _PREFLIGHT_VARY
    origin = request.headers.get(hdrs.ORIGIN, "")
    method = request.headers[hdrs.ACCESS_CONTROL_REQUEST_METHOD]
    if origin and method.upper() in ALLOWED_METHODS:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = method
        requested = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS, "")
        if requested:
            headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = requested
        headers[hdrs.ACCESS_CONTROL_MAX_AGE] = str(MAX_AGE_S)
    return response


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    if _is_preflight(request):
        return  # answered in full by _preflight
    headers = response.headers
    headers.add(hdrs.VARY, hdrs.ORIGIN)
    origin = request.headers.get(hdrs.ORIGIN, "")
    if origin and request.method in ALLOWED_METHODS:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
        headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = "*"
    if request.path in VALIDATE_PATHS:
        headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = "*"
