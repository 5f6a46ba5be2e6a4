"""The server's one exception tree, translated at each edge into the contract.

``ServiceError`` (carries an :class:`~voip_contract.ErrorCode`) is raised by the data and call
layers; the HTTP edge turns it into ``{"error": {"code", "message"}}`` with :attr:`http_status`,
the Socket.IO edge into ``{"ok": false, "error": {...}}``.
"""

from __future__ import annotations

from voip_contract import ErrorCode

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_PAYLOAD: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.BUSY: 409,
    ErrorCode.SELF_CALL: 409,
    ErrorCode.INVALID_STATE: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.UNAUTHORIZED: 401,
}


class ServiceError(Exception):
    """A request that cannot be served, with the contract code to answer it with."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]
