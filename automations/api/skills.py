"""/api/v1/orgs/<org>/skills/: the active skills (the product's catalog, the same for every
org), each with its mode and the JSON Schema of its parameters. Read through skills.selectors."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from automations.api.base import ApiViewSet, OrgScoped
from automations.api.pagination import CursorPage
from skills.models import Skill
from skills.selectors import skill_get_active, skills_active


class SkillSerializer(serializers.ModelSerializer):
    params_schema = serializers.JSONField(help_text="JSON Schema of an automation's params.")

    class Meta:
        model = Skill
        fields = ["slug", "name", "description", "mode", "params_schema"]
        read_only_fields = fields


class SkillPage(CursorPage):
    ordering = ("slug",)  # unique: a stable keyset


@extend_schema_view(
    list=extend_schema(summary="List the active skills"),
    retrieve=extend_schema(summary="Get a skill"),
)
class SkillViewSet(OrgScoped, ApiViewSet):
    serializer_class = SkillSerializer
    pagination_class = SkillPage
    filterset_class = None
    filter_backends: list = []
    lookup_field = "slug"
    lookup_url_kwarg = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    queryset = Skill.objects.none()  # for the schema; get_queryset is the fetcher

    def get_queryset(self) -> QuerySet[Skill]:
        return skills_active()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SkillSerializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        skill = skill_get_active(slug=self.kwargs["slug"])
        if skill is None:
            raise Http404("No such skill.")
        return Response(SkillSerializer(skill).data)
