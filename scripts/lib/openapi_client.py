"""Proves the served OpenAPI document usable by the tools people run on it.

  openapi_client.py BASE KEY WORKDIR

1. `openapi-spec-validator` accepts the document (OpenAPI 3.1: every response described,
   operation ids unique, …).
2. `openapi-python-client` generates a Python client from it.
3. That generated client, authenticated by the API key, creates applications and lists them
   page by page, following the `Link: <…>; rel="next"` header, and sees each exactly once, in
   order.
"""

import importlib
import os
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from openapi_spec_validator import validate

base, key, workdir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
workdir.mkdir(parents=True, exist_ok=True)

with urllib.request.urlopen(f"{base}/rest/openapi.json", timeout=20) as answer:
    document = json.load(answer)
validate(document)
print("openapi-spec-validator: the document is valid OpenAPI", document["openapi"])

spec = workdir / "openapi.json"
spec.write_text(json.dumps(document))
tools = Path(sys.executable).parent
generated = subprocess.run(
    [
        str(tools / "openapi-python-client"),
        "generate",
        "--path", str(spec),
        "--output-path", str(workdir / "client"),
        "--meta", "none",
        "--overwrite",
    ],
    check=True,
    timeout=300,
    capture_output=True,
    text=True,
    # Its formatting hooks run ruff, from the same environment.
    env={**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"},
)
print(generated.stdout, generated.stderr)
# Anything the generator could not turn into code is a warning: the document must have none.
assert "Warning" not in generated.stdout + generated.stderr, "the client generator warned (above)"
sys.path.insert(0, str(workdir))
client_package = importlib.import_module("client")
applications = importlib.import_module("client.api.applications")
create = importlib.import_module("client.api.applications.create_application")
list_page = importlib.import_module("client.api.applications.list_applications")
models = importlib.import_module("client.models")
print("openapi-python-client: generated", sorted(m for m in dir(applications) if not m.startswith("_")))

client = client_package.AuthenticatedClient(
    base_url=base, token=key, prefix="", auth_header_name="X-API-KEY", timeout=20.0
)
names = [f"generated-client-{index}" for index in range(5)]
for name in names:
    created = create.sync_detailed(client=client, body=models.NewApplication(name=name))
    assert created.status_code == 201, (created.status_code, created.content)

seen = []
cursor = None
pages = 0
while True:
    answer = list_page.sync_detailed(client=client, limit=2, cursor=cursor)
    assert answer.status_code == 200, (answer.status_code, answer.content)
    seen += [application.name for application in answer.parsed]
    pages += 1
    assert pages < 50, "the walk does not end"
    link = answer.headers.get("link")
    if link is None:
        break
    match = re.fullmatch(r'<[^>]*[?&]cursor=([^&>]+)[^>]*>; rel="next"', link)
    assert match, link
    cursor = urllib.parse.unquote(match.group(1))

assert seen == sorted(seen), seen
assert len(seen) == len(set(seen)), seen
assert set(names) <= set(seen), seen
print(f"the generated client listed {len(seen)} applications in {pages} pages of 2")
