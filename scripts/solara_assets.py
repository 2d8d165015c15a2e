"""Fill Solara's CDN proxy cache from the npm registry, so the app works offline.

Solara's server serves its page shell and widget code (the vuetify app, requirejs,
font-awesome, the grid layout, vega for altair charts) under /_solara/cdn/ by fetching
them from a CDN on first use and caching them in
``solara.server.settings.assets.proxy_cache_dir``. This machine cannot reach that CDN,
so every such request 404s and the page never leaves "Loading app".

This script finds the packages the installed solara asks for (by reading its page
template and widget sources, so a solara upgrade picks up new versions by itself),
``npm pack``s each one and unpacks it into the cache as ``<cache>/<name>@<spec>/``,
the same layout the proxy writes (the path after ``/_solara/cdn/`` in a URL).

The cache is Solara's default, ``<venv>/share/solara/cdn``, unless
SOLARA_ASSETS_PROXY_CACHE_DIR is set (then that directory, both here and in the
server). Run it with the project's venv python; it is idempotent: packages already
unpacked are skipped.

Usage: .venv/bin/python scripts/solara_assets.py [--list] [--force]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

MARKER = ".npm-pack.json"  # written last into each unpacked package: "this one is complete"

# {{cdn}}/<pkg>@<spec>/...  (page template)   ${this.getCdn()}/<pkg>@<spec>/...  (widgets)
URL_RE = re.compile(
    r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/"
    r"(?P<name>(?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)@(?P<spec>[\w.^~-]+)/"
)
VUETIFY_APPS = {"@widgetti/solara-vuetify-app": False, "@widgetti/solara-vuetify3-app": True}
# what the page and the widgets SolaraViz and altair charts use; fail if solara stops naming them
EXPECTED = {
    "requirejs",
    "font-awesome",
    "@widgetti/vue-grid-layout",
    "vega",
    "vega-lite",
    "vega-embed",
}


def solara_sources() -> list[Path]:
    import solara

    root = Path(solara.__file__).parent
    files = [root / "server" / "templates" / "solara.html.j2"]
    files += sorted((root / "widgets" / "vue").glob("*.vue"))  # gridlayout, vegalite
    return [f for f in files if f.exists()]


def wanted_packages() -> dict[str, str]:
    """name -> spec (exact version or major, as it appears in the URL) the server will request."""
    import ipyvue
    from solara.server import settings

    vue3 = ipyvue.__version__.startswith("3")  # the same test solara.server.server makes
    found: dict[str, str] = {}
    for path in solara_sources():
        for m in URL_RE.finditer(path.read_text(encoding="utf-8")):
            name, spec = m["name"], m["spec"]
            if name in VUETIFY_APPS and VUETIFY_APPS[name] != vue3:
                continue
            found[name] = spec
    # the font-awesome css path is a setting (SOLARA_ASSETS_FONTAWESOME_PATH)
    fa = re.match(r"/?((?:@[^/]+/)?[^/@]+)@([^/]+)/", settings.assets.fontawesome_path)
    if settings.assets.fontawesome_enabled and fa:
        found[fa[1]] = fa[2]
    missing = [n for n in sorted(EXPECTED) if n not in found]
    if not any(n in found for n in VUETIFY_APPS):
        missing.append("@widgetti/solara-vuetify(3)-app")
    if missing:
        sys.exit(
            f"solara_assets: the installed solara no longer names {missing} in "
            f"{[str(p) for p in solara_sources()]}; update scripts/solara_assets.py"
        )
    return found


def cache_dir() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def npm_pack(specs: list[str], dest: Path) -> list[dict]:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("solara_assets: npm not found (install Node.js/npm, e.g. apt-get install -y npm)")
    proc = subprocess.run(
        [
            npm,
            "pack",
            *specs,
            "--json",
            "--pack-destination",
            str(dest),
            "--loglevel=error",
            "--ignore-scripts",
        ],
        cwd=dest,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"solara_assets: npm pack {' '.join(specs)} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout)


def unpack(tgz: Path, target: Path, info: dict) -> None:
    """Unpack an npm tarball (its files under one top folder, usually package/) into target."""
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it 0700; the server may run as another user
    try:
        with tarfile.open(tgz) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if len(parts) < 2:
                    continue
                member.name = str(Path(*parts[1:]))
                tar.extract(member, staging, filter="data")
        (staging / MARKER).write_text(
            json.dumps({k: info[k] for k in ("id", "name", "version", "integrity") if k in info})
        )
        if target.exists():  # left incomplete (no marker), e.g. by solara's own lazy proxy
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            if not (target / MARKER).exists():  # not a concurrent run that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print the cache dir and packages, exit")
    ap.add_argument("--force", action="store_true", help="re-download packages already present")
    args = ap.parse_args()

    cache = cache_dir()
    packages = wanted_packages()
    if args.list:
        print(cache)
        for name, spec in packages.items():
            print(f"{name}@{spec}")
        return 0

    todo = {
        n: s
        for n, s in packages.items()
        if args.force or not (cache / f"{n}@{s}" / MARKER).exists()
    }
    if not todo:
        print(f"solara assets: {len(packages)} packages already in {cache}")
        return 0

    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="solara-assets-") as tmp:
        results = npm_pack([f"{n}@{s}" for n, s in todo.items()], Path(tmp))
        by_name = {r["name"]: r for r in results}
        for name, spec in todo.items():
            info = by_name.get(name)
            if info is None:
                sys.exit(f"solara_assets: npm pack returned nothing for {name}@{spec}")
            target = cache / f"{name}@{spec}"
            target.parent.mkdir(parents=True, exist_ok=True)  # scoped: cache/@widgetti/
            unpack(Path(tmp) / info["filename"], target, info)
    got = ", ".join(f"{n}@{by_name[n]['version']}" for n in todo)
    print(f"solara assets: unpacked {got} into {cache}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
