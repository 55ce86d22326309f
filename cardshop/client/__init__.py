"""The one client of the scheduler API: JSON over HTTP, token login and refresh."""

from cardshop.client.http import ApiClient, ApiUnreachable, Response
from cardshop.client.tokens import CredentialsError, Login, TokenSource

__all__ = ["ApiClient", "ApiUnreachable", "CredentialsError", "Login", "Response", "TokenSource"]
