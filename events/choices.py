from django.db import models


class EventSource(models.TextChoices):
    API = "api", "API"
    PLATFORM = "platform", "Platform"
    AUTOMATION = "automation", "Automation"
    IMPORT = "import", "Import"
    SYSTEM = "system", "System"
    WEBHOOK = "webhook", "Webhook"  # incoming webhooks (webhooks.api)


class AttributeType(models.TextChoices):
    STRING = "string", "String"
    NUMBER = "number", "Number"
    INTEGER = "integer", "Integer"
    BOOLEAN = "boolean", "Boolean"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    LIST = "list", "List"
    OBJECT = "object", "Object"
