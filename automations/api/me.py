"""GET /api/v1/me/: who the caller is and which orgs they act in, with their role."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Membership
from automations.api.base import ApiView
from automations.api.fields import StrictCharField


class MeOrgSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="organization.public_id")
    slug = StrictCharField(source="organization.slug")
    name = StrictCharField(source="organization.name")
    role = serializers.ChoiceField(choices=Membership.Role.choices)


class MeSerializer(serializers.Serializer):
    username = StrictCharField()
    email = serializers.EmailField()
    is_superuser = serializers.BooleanField()
    orgs = MeOrgSerializer(many=True)


class MeView(ApiView):
    @extend_schema(responses=MeSerializer, operation_id="me_retrieve", tags=["me"])
    def get(self, request: Request) -> Response:
        user = request.user
        memberships = (
            Membership.objects.filter(user=user)
            .select_related("organization")
            .order_by("organization__slug")
        )
        return Response(
            MeSerializer(
                {
                    "username": user.get_username(),
                    "email": user.email,
                    "is_superuser": user.is_superuser,
                    "orgs": list(memberships),
                }
            ).data
        )
