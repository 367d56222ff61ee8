"""/docs and /redoc work without the internet: every asset they load is the service's own (issue 14)."""

from __future__ import annotations

import re

import httpx

ASSETS = re.compile(r"""(?:src|href|url)\s*[=:(]\s*['"]?([^'")\s>]+)""")


async def test_docs_pages_reference_only_the_services_own_paths(
    service_client: tuple[str, httpx.AsyncClient],
) -> None:
    _, client = service_client
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert "://" not in html, f"{page} names an outside address"
        referenced = set(ASSETS.findall(html)) | set(re.findall(r"""['"](/[^'"\s]*)['"]""", html))
        assert referenced, html
        assert all(ref.startswith("/") for ref in referenced), referenced
        assert "/openapi.json" in referenced
        for ref in referenced - {"/openapi.json", "/docs/oauth2-redirect"}:
            assert ref.startswith("/docs/assets/"), ref
    kinds = {
        "/docs/assets/swagger-ui-bundle.js": "javascript",
        "/docs/assets/swagger-ui.css": "text/css",
        "/docs/assets/redoc.standalone.js": "javascript",
        "/docs/assets/favicon.png": "image/png",
    }
    for path, kind in kinds.items():
        asset = await client.get(path)
        assert asset.status_code == 200, path
        assert kind in asset.headers["content-type"], (path, asset.headers["content-type"])
        assert len(asset.content) > 50, path
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200
    assert (await client.get("/docs/assets/../../pyproject.toml")).status_code == 404
    assert (await client.get("/openapi.json")).status_code == 200
