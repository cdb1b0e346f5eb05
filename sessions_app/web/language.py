"""The pages speak the visitor's language: the best of settings.LANGUAGES for their Accept-Language.

Applied per page view rather than as LocaleMiddleware for the whole site, so that the /v1 API keeps
answering in English for developers whatever their browser sends.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

View = Callable[..., HttpResponse]


def in_visitor_language(view: View) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = translation.get_language_from_request(request)
        with translation.override(language):
            request.LANGUAGE_CODE = translation.get_language()
            response = view(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ["Accept-Language"])
        return response

    return wrapped
