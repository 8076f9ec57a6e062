"""gunicorn settings of `make serve` (and of a production deployment that runs gunicorn -c).

The access log's request line and query keep only non-personal query values
(loyalty.observability.redact_query): `GET /api/customers?email=…&api_key=…` is logged as
`email=[redacted]&api_key=[redacted]`. Each line ends with the request ID the response's
X-Request-ID header and any error log line carry.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
accesslog = "-"
errorlog = "-"
logger_class = "loyalty.observability.RedactingGunicornLogger"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
