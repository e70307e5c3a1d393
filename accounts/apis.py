"""Token API: log in for a token, revoke it, list one's tokens and revoke one of them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotAuthenticated, ValidationError
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import tokens
from accounts.authentication import ApiTokenAuthentication
from accounts.models import ApiToken

DETAIL = inline_serializer("Detail", {"detail": serializers.CharField()})


class TokenLoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class IssuedTokenSerializer(serializers.ModelSerializer):
    token = serializers.CharField(help_text="Send it as `Authorization: Token …`; it is shown only this once.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "token", "expires_at"]


class TokenSerializer(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="The token this request was made with.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at", "last_used_at", "current"]

    def get_current(self, token: ApiToken) -> bool:
        return token.pk == getattr(self.context["request"].auth, "pk", None)


class TokenApi(APIView):
    """POST: username and password in, a new token out. DELETE: revoke the token this request used."""

    # Only the token: DELETE revokes the token used, and a session has none to revoke.
    authentication_classes = [ApiTokenAuthentication]

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.AllowAny()]
        return [permissions.IsAuthenticated()]

    @extend_schema(
        request=TokenLoginSerializer,
        responses={
            200: IssuedTokenSerializer,
            400: OpenApiResponse(description="Bad input or wrong credentials"),
            429: DETAIL,
        },
        auth=[],
    )
    def post(self, request):
        data = TokenLoginSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request=request, username=data.validated_data["username"], password=data.validated_data["password"]
        )
        # django-axes flags the request when this username and address (or this address) is locked out.
        if getattr(request, "axes_locked_out", False):
            return Response(
                {"detail": _("Too many failed log-in attempts. Try again later.")},
                status=status.HTTP_429_TOO_MANY_REQUESTS,
                headers={"Retry-After": str(int(settings.AXES_COOLOFF_TIME * 3600))},
            )
        if user is None:
            raise ValidationError({"non_field_errors": [_("Unable to log in with the username and password given.")]})
        # As a web login does: axes resets this username's failures, Django records last_login.
        user_logged_in.send(sender=user.__class__, request=request, user=user)
        token, secret = tokens.api_token_create(user=user, name=data.validated_data["name"])
        token.token = secret
        return Response(IssuedTokenSerializer(token).data)

    @extend_schema(request=None, responses={204: None, 401: DETAIL})
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise NotAuthenticated(_("Send the token to revoke in the Authorization header."))
        tokens.api_token_revoke(user=request.user, token_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(ListAPIView):
    """The caller's tokens that still work (never the tokens themselves), newest first."""

    serializer_class = TokenSerializer

    def get_queryset(self):
        return tokens.api_tokens_list(user=self.request.user)


class TokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None, 404: DETAIL})
    def delete(self, request, pk: int):
        if not tokens.api_token_revoke(user=request.user, token_id=pk):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)
