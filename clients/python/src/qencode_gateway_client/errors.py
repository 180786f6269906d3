"""gRPC errors of qencode-gateway as exceptions with their google.rpc details decoded.

The gateway sends a google.rpc.Status in the `grpc-status-details-bin` trailer with
ErrorInfo (reason, domain, metadata), BadRequest (field violations) and RetryInfo
(retry delay); grpcio only exposes the raw trailer, so this module unpacks it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status


@dataclass(frozen=True)
class FieldViolation:
    """One invalid request field, as google.rpc.BadRequest names it."""

    field: str
    description: str


class GatewayError(Exception):
    """A failed call to the gateway.

    Attributes:
        code: the grpc.StatusCode.
        message: the status message.
        reason: ErrorInfo.reason (e.g. "INVALID_ARGUMENT", "QENCODE_SYSTEM_BUSY"), or None.
        domain: ErrorInfo.domain ("qencode.com" or "qencode-gateway"), or None.
        metadata: ErrorInfo.metadata (e.g. {"code": "8"} for Qencode's numeric code).
        field_violations: BadRequest's violations, empty when there is none.
        retry_delay: RetryInfo.retry_delay in seconds, or None.
        details: every decoded detail message, for anything not covered above.
    """

    def __init__(self, code: grpc.StatusCode, message: str, details: list[Any]):
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = details
        self.reason: Optional[str] = None
        self.domain: Optional[str] = None
        self.metadata: dict[str, str] = {}
        self.field_violations: list[FieldViolation] = []
        self.retry_delay: Optional[float] = None
        for detail in details:
            if isinstance(detail, error_details_pb2.ErrorInfo):
                self.reason, self.domain, self.metadata = detail.reason, detail.domain, dict(detail.metadata)
            elif isinstance(detail, error_details_pb2.BadRequest):
                self.field_violations += [FieldViolation(v.field, v.description) for v in detail.field_violations]
            elif isinstance(detail, error_details_pb2.RetryInfo):
                self.retry_delay = detail.retry_delay.ToTimedelta().total_seconds()

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> "GatewayError":
        """Builds the exception from a grpcio error (a grpc.Call); keeps it as __cause__."""
        code = error.code() if hasattr(error, "code") else grpc.StatusCode.UNKNOWN
        message = error.details() if hasattr(error, "details") else str(error)
        details: list[Any] = []
        try:
            status = rpc_status.from_call(error)  # type: ignore[arg-type]
        except ValueError:
            # The trailer disagrees with the call's own code or message: ignore it, as
            # the gRPC spec says the status line wins.
            status = None
        if status is not None:
            for any_detail in status.details:
                for kind in (error_details_pb2.ErrorInfo, error_details_pb2.BadRequest, error_details_pb2.RetryInfo,
                             error_details_pb2.ResourceInfo, error_details_pb2.PreconditionFailure,
                             error_details_pb2.QuotaFailure, error_details_pb2.DebugInfo, error_details_pb2.Help,
                             error_details_pb2.LocalizedMessage, error_details_pb2.RequestInfo):
                    if any_detail.Is(kind.DESCRIPTOR):
                        decoded = kind()
                        any_detail.Unpack(decoded)
                        details.append(decoded)
                        break
                else:
                    details.append(any_detail)
        exc = cls(code, message or "", details)
        exc.__cause__ = error
        return exc
