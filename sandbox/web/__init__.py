"""The sandbox's server-rendered web client, for the Playwright tests; it speaks only the API's wire format."""

from sandbox.web.app import create_web_app

__all__ = ["create_web_app"]
