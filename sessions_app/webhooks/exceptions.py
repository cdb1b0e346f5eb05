"""Domain errors of webhook rules; hellojohn_project.api.errors maps their codes to HTTP statuses."""

from tenants_app.exceptions import DomainError


class WebhookNotFound(DomainError):
    code = "webhook_not_found"
    message = "No such webhook endpoint in this tenant."


class DeliveryNotFound(DomainError):
    code = "delivery_not_found"
    message = "No such delivery of this webhook endpoint."


class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"
    message = "The webhook URL is not allowed."
