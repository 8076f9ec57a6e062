"""Errors the engine raises. Each has a stable integer code, an HTTP status, a message and the
offending field, so the API can render the reference envelope and the console a form error.

Codes reuse the reference API's numbers where known (160212 customer not found, 113401 missing
required parameter). Every code is listed in docs/api.md; never renumber one.
"""


class EngineError(Exception):
    code = 100000
    status = 400
    type = "BadRequestException"
    default_message = "The request could not be processed."

    def __init__(self, message: str | None = None, *, field: str | None = None, code: int | None = None):
        self.message = message or self.default_message
        self.field = field
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"type": self.type, "code": self.code, "message": self.message, "field": self.field}


class OneTimeActionRepeated(EngineError):
    """The reference's 10001: a one-time (custom) action the customer already has."""

    code = 10001
    status = 400


class WorkflowInterrupted(EngineError):
    """The reference's 127201 (§1.6): a workflow's Interrupt modifier stopped the event before it
    was stored. The node may give its own 5-digit code (`code=`); the envelope's type is the
    reference's `InterruptException` (status 422: the reference gives none). Raised as
    workflows.triggers.WorkflowInterrupt from the pre-store (modifier) branch of a workflow,
    inside register_event's transaction, so nothing of the event is stored."""

    code = 127201
    status = 422
    type = "InterruptException"
    default_message = "Workflow interruption"


class InvalidCredentials(EngineError):
    """The Custom login module: the password does not match the customer's (or none is set)."""

    code = 101403
    status = 403
    type = "ForbiddenException"
    default_message = "Invalid customer ID or password."


class ValidationError(EngineError):
    """Invalid input: bad type, bad format, unknown attribute value."""

    code = 113400
    status = 400


class MissingParameter(ValidationError):
    code = 113401
    default_message = "A required parameter is missing."


class UnknownAction(ValidationError):
    code = 113402
    default_message = "Unknown action."


class InternalAction(ValidationError):
    code = 113403
    default_message = "Internal events cannot be registered from outside the engine."


class ReadOnlyAttribute(ValidationError):
    code = 113404
    default_message = "The attribute is read-only."


class InvalidCustomerId(ValidationError):
    code = 113405
    default_message = "Customer IDs may contain Latin letters, digits and dashes only."


class ConsoleOnlyAction(ValidationError):
    code = 113406
    default_message = "This action can only be registered from the console."


class UnknownAttribute(ValidationError):
    code = 113407
    default_message = "Unknown customer attribute."


class ModuleDisabled(EngineError):
    """A built-in action of the reference whose module this engine does not have (reference §8.1:
    "404 also returned when a module is disabled")."""

    code = 113408
    status = 404
    type = "NotFoundException"
    default_message = "The module of this action is disabled."


class CustomerNotFound(EngineError):
    code = 160212
    status = 404
    type = "NotFoundException"
    default_message = "Customer not found."


class NotFound(EngineError):
    code = 160404
    status = 404
    type = "NotFoundException"
    default_message = "Not found."


class StatusForbids(EngineError):
    """The customer's status does not allow the action (suspended spend, banned earn, ...)."""

    code = 160403
    status = 403
    type = "ForbiddenException"
    default_message = "The customer's status does not allow this action."


class Conflict(EngineError):
    code = 160409
    status = 409
    type = "ConflictException"
    default_message = "Conflict."


class BusinessRuleError(EngineError):
    code = 160422
    status = 422
    type = "UnprocessableEntityException"
    default_message = "The action breaks a program rule."


class NotInSegment(EngineError):
    """A reward restricted to a segment claimed by a customer outside it (Antavo error 120213)."""

    code = 120213
    status = 422  # as the other reward-claim refusals (docs/api.md)
    type = "UnprocessableEntityException"
    default_message = "The customer is not in the segment this reward requires."


class InsufficientPoints(BusinessRuleError):
    code = 160423
    default_message = "The customer does not have enough spendable points."
