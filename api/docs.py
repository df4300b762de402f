"""/docs (Swagger UI) and /redoc served from files installed with the package: no CDN.

The scripts and stylesheet come from the `fastapi-offline` wheel (MIT; it ships Swagger UI,
Apache-2.0, and ReDoc, MIT, unchanged) — pip installs them, nothing is fetched at run time, so
the pages work where no internet is reachable. The pages hold no inline script, so the strict
CSP of `api.armour` (script-src 'self') applies to them as written.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles


def assets_dir() -> Path:
    """The folder of the installed Swagger UI and ReDoc files."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastapi-offline is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


SWAGGER_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} - Swagger UI</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
"""

SWAGGER_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: new URL("openapi.json", document.baseURI).href,
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
"""

REDOC_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="docs/assets/favicon.png">
</head>
<body>
<redoc spec-url="openapi.json"></redoc>
<script src="docs/assets/redoc.standalone.js"></script>
</body>
</html>
"""


def add_offline_docs(app: FastAPI) -> None:
    """Mount the assets and the two pages (FastAPI's CDN pages must be switched off)."""
    title = app.title
    app.mount("/docs/assets", StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE.format(title=title))

    @app.get("/docs/init.js", include_in_schema=False)
    def swagger_init() -> Response:
        return Response(SWAGGER_INIT, media_type="text/javascript; charset=utf-8")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE.format(title=title))
