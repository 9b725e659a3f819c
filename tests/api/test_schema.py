"""The OpenAPI schema: the checked-in docs/openapi.yaml is what the code generates, every
operation documents its errors, and the docs page loads under the CSP."""

from __future__ import annotations

from pathlib import Path

import yaml
from django.core.management import call_command

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
FIX = "make openapi  (or: manage.py spectacular --file docs/openapi.yaml --validate)"


def _generated(tmp_path) -> str:
    out = tmp_path / "openapi.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    return out.read_text()


def test_checked_in_schema_matches_the_code(tmp_path):
    assert SCHEMA_FILE.exists(), f"docs/openapi.yaml is missing; run {FIX}"
    assert _generated(tmp_path) == SCHEMA_FILE.read_text(), (
        f"docs/openapi.yaml is out of date with the API; regenerate it: {FIX}"
    )


def test_generation_is_deterministic(tmp_path):
    first = _generated(tmp_path)
    assert _generated(tmp_path) == first


def test_every_operation_documents_its_errors():
    schema = yaml.safe_load(SCHEMA_FILE.read_text())
    assert "ErrorResponse" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for code in ("401", "403", "404", "405", "406", "429"):
                assert code in responses, f"{method.upper()} {path} does not document {code}"
                ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse")
            if method in ("post", "put", "patch"):
                assert "400" in responses and "415" in responses, f"{method} {path}"


def test_schema_endpoint_serves_openapi(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_docs_page_loads_with_its_assets_from_us_under_the_csp(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    csp = response["Content-Security-Policy"]
    script_src = next(d for d in csp.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "default-src 'self'" in csp
    html = response.content.decode()
    assert "<script>" not in html  # the start-up script is a file of its own
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200
    assert "javascript" in script["Content-Type"]
