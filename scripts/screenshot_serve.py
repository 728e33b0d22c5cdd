#!/usr/bin/env python3
"""Screenshot the review site (``watcher serve``) in Debian's headless Chromium, driven by Playwright:
docs/serve-matches.png, serve-near.png, serve-article.png, serve-feeds.png, serve-try.png.

The store is a throwaway SQLite file filled with the articles written for the tests (scored by the
shipped topic); the server is uvicorn on 127.0.0.1.  Needs ``chromium`` (apt) and the test extra
(playwright; never ``playwright install``).  Usage::

    .venv/bin/python scripts/screenshot_serve.py [--out docs]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serve_helpers import CHROMIUM_ARGS, chromium_path, filled, running  # noqa: E402

TRY_TEXT = (
    "Afghan migrants queue for Russian work permits\n"
    "Hundreds of Afghan migrants waited at the migration office in Moscow for work permits, "
    "officials in Russia said."
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "docs")
    ap.add_argument("--width", type=int, default=1100)
    args = ap.parse_args()
    exe = chromium_path()
    if exe is None:
        print("screenshot_serve: no Chromium (apt-get install -y chromium)", file=sys.stderr)
        return 1
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, engine, ids = filled(Path(tmp), hostile=False)
        with running(cfg, engine) as base, sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"),
                executable_path=str(exe),
                headless=True,
                args=CHROMIUM_ARGS,
                viewport={"width": args.width, "height": 900},
            )
            page = context.new_page()
            shots = [
                ("serve-matches.png", "/"),
                ("serve-near.png", "/near"),
                ("serve-article.png", f"/article/{ids['labour']}"),
                ("serve-feeds.png", "/feeds"),
            ]
            for name, path in shots:
                page.goto(base + path)
                page.screenshot(path=str(args.out / name), full_page=True)
                print(args.out / name)
            page.goto(base + "/near")  # a near miss labelled relevant: the effect shown on the page
            card = page.locator(f"#entry-{ids['near_quota']}")
            card.get_by_role("button", name="relevant", exact=True).click()
            page.wait_for_load_state()
            page.screenshot(path=str(args.out / "serve-label.png"), full_page=True)
            print(args.out / "serve-label.png")
            page.goto(base + "/try")
            page.fill("textarea[name=source]", TRY_TEXT)
            page.get_by_role("button", name="Score it").click()
            page.wait_for_load_state()
            page.screenshot(path=str(args.out / "serve-try.png"), full_page=True)
            print(args.out / "serve-try.png")
            context.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
