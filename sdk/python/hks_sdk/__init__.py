"""Python SDK of the HKS Platform API (standard library only).

- :class:`FunctionExecutor` runs code once (internal API, internal token).
- :class:`Functions` deploys, invokes and inspects the functions of a project (user API).
- :func:`verify_callback` checks the signature of an asynchronous invocation's callback.

Errors are :class:`HksError`: :class:`ProblemError` (and a subclass per status) for error
responses, :class:`TransportError` when there is no response.
"""

from ._version import __version__
from .errors import (
    BadGatewayError,
    BadRequestError,
    ConflictError,
    ExecutionError,
    FieldError,
    ForbiddenError,
    GatewayTimeoutError,
    HksError,
    NotFoundError,
    ProblemError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TransportError,
    UnauthorizedError,
    UnprocessableError,
)
from .async_invocations import AsyncInvocation, AsyncSubmission, verify_callback
from .executor import ErrorInfo, ExecutionResult, FunctionExecutor
from .sessions import Session
from .streaming import ExecutionEvent, OutputEvent, PhaseEvent, ResultEvent
from .schedules import FunctionSchedule, ScheduleRun
from .usage import UsageCost, UsageFigures, UsageItem, UsageReport
from .functions import (
    FunctionInfo,
    Functions,
    Invocation,
    InvocationError,
    InvocationPage,
    InvokeResponse,
    NotReadyError,
    Revision,
    TrafficTarget,
)

__all__ = [
    "__version__",
    "AsyncInvocation",
    "AsyncSubmission",
    "BadGatewayError",
    "BadRequestError",
    "ConflictError",
    "ErrorInfo",
    "ExecutionError",
    "ExecutionEvent",
    "ExecutionResult",
    "FieldError",
    "FunctionSchedule",
    "UsageCost",
    "UsageFigures",
    "UsageItem",
    "UsageReport",
    "ForbiddenError",
    "FunctionExecutor",
    "Session",
    "FunctionInfo",
    "Functions",
    "GatewayTimeoutError",
    "HksError",
    "Invocation",
    "InvocationError",
    "InvocationPage",
    "InvokeResponse",
    "NotFoundError",
    "NotReadyError",
    "OutputEvent",
    "PhaseEvent",
    "ProblemError",
    "RequestTimeoutError",
    "ResultEvent",
    "Revision",
    "ScheduleRun",
    "ServiceUnavailableError",
    "TrafficTarget",
    "TransportError",
    "UnauthorizedError",
    "UnprocessableError",
    "verify_callback",
]
