"""The local review site (``watcher serve``): Starlette + Jinja2, server-rendered, no script.

``app`` assembles it, ``pages`` and ``forms`` are its GET pages and POST forms, ``queries`` reads the
store, ``actions`` does what the buttons do, ``present`` holds the pure helpers, ``security`` the
guards, ``server`` runs it with uvicorn.
"""
