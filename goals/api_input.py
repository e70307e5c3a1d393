"""What the REST API accepts beyond each operation's serializers: page sizes, request bodies and
characters. Every answer to bad input is JSON (400, or 413 for a body that is too large), never
Django's HTML error page and never a 500.

Wired in through ``REST_FRAMEWORK`` in kpitree/settings.py (exception handler, parsers,
pagination) and ``goals.apis.OrganisationApi.initial`` (NUL characters in the query string).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import parsers, serializers, status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.response import Response

# A page is computed and serialised within the request: keep it to a size answered in well under
# a second (a node's SMART report is computed for each node of the page).
MAX_PAGE_SIZE = 500
# Databases take an OFFSET up to 2**63 - 1 and Python ints beyond it overflow their drivers; no
# organisation has two billion nodes or actuals.
MAX_OFFSET = 2**31 - 1


class PageQuerySerializer(serializers.Serializer):
    """``limit`` and ``offset`` of a paginated list: a limit above the maximum is refused (400),
    not silently cut, so a client never mistakes a short page for the end of the list."""

    limit = serializers.IntegerField(
        min_value=1,
        max_value=MAX_PAGE_SIZE,
        required=False,
        help_text=f"page size (default {settings.REST_FRAMEWORK['PAGE_SIZE']}, at most {MAX_PAGE_SIZE})",
    )
    offset = serializers.IntegerField(
        min_value=0, max_value=MAX_OFFSET, required=False, help_text="index of the first item of the page"
    )


class ApiPagination(LimitOffsetPagination):
    """LimitOffsetPagination that refuses a bad ``limit`` or ``offset`` with a 400 instead of
    falling back to the default (DRF's behaviour) or overflowing the database driver."""

    max_limit = MAX_PAGE_SIZE

    def _page_params(self, request) -> dict[str, int]:
        if not hasattr(request, "_page_params"):
            query = PageQuerySerializer(data=request.query_params)
            query.is_valid(raise_exception=True)
            request._page_params = query.validated_data
        return request._page_params

    def get_limit(self, request) -> int:
        return self._page_params(request).get("limit", self.default_limit)

    def get_offset(self, request) -> int:
        return self._page_params(request).get("offset", 0)


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with deeply nested JSON answered as a parse error: the decoder recurses
    once per level and raises RecursionError (a 500) past about a thousand."""

    def parse(self, stream, media_type=None, parser_context=None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the data is nested too deeply.")) from None


def refuse_null_characters(query_params) -> None:
    """No query parameter may hold a NUL character: PostgreSQL refuses it in a string (a 500),
    SQLite would silently match nothing. Body strings are refused by DRF's CharField."""
    bad = sorted({key for key, values in query_params.lists() if "\x00" in key or any("\x00" in v for v in values)})
    if bad:
        raise ValidationError({key.replace("\x00", "\\x00"): [_("Null characters are not allowed.")] for key in bad})


@csrf_exempt  # it changes nothing: a POST without a token gets the 404, not a CSRF page
def api_not_found(request, *args, **kwargs) -> JsonResponse:
    """A path under /api/v1/ that names no operation: JSON, as every other API answer."""
    return JsonResponse({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's handler, plus Django's refusals of an oversized request body as JSON."""
    if isinstance(exc, RequestDataTooBig):
        message = _("The request body is larger than %(size)s bytes.") % {"size": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        return Response({"detail": message}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response({"detail": _("The request has too many fields.")}, status=status.HTTP_400_BAD_REQUEST)
    # Imported here: rest_framework.views reads REST_FRAMEWORK's parser and pagination classes,
    # which are this module's, when it is first imported (a circular import otherwise, hit when
    # a system check imports this module before anything imported rest_framework.views).
    from rest_framework.views import exception_handler

    return exception_handler(exc, context)
