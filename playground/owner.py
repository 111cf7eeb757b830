"""Who owns a run: a random id per browser, kept in a cookie. Plain Python (an ASGI middleware).

Streamlit keeps `st.session_state` per websocket, so a reload is a new, empty session. The runs of
a person are kept under this id instead: every tab of the same browser, and every reload, finds
them again. The id is 128 random bits, HttpOnly (page scripts cannot read it) and SameSite=Lax;
it never appears in a URL, a shared link, a page or a log line.
"""

import re
import secrets

COOKIE_NAME = "char_rnn_owner"
ONE_YEAR = 365 * 24 * 3600
_OWNER_ID = re.compile(r"[0-9a-f]{32}")
_NOT_PAGES = ("/static/", "/_stcore/", "/component/", "/media/", "/app/static/")


def new_owner_id():
    return secrets.token_hex(16)


def valid_owner_id(value):
    """True for an id this app could have made (a forged cookie of another shape is not one)."""
    return isinstance(value, str) and _OWNER_ID.fullmatch(value) is not None


class OwnerCookieMiddleware:
    """Gives a browser without a valid owner cookie a new one on its next page response."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(_NOT_PAGES) or valid_owner_id(_cookie(scope)):
            await self.app(scope, receive, send)
            return
        cookie = f"{COOKIE_NAME}={new_owner_id()}; Max-Age={ONE_YEAR}; Path=/; HttpOnly; SameSite=Lax"
        if scope.get("scheme") == "https":
            cookie += "; Secure"

        async def send_with_cookie(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie.encode())]}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _cookie(scope):
    """The owner cookie's value in an ASGI scope's headers, or None."""
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, cookie = part.strip().partition("=")
                if key == COOKIE_NAME:
                    return cookie
    return None
