"""Clients of our servers: the scheduler API (JSON, token login and refresh); the warehouse in client.warehouse."""

from cardshop.client.http import ApiCertificateError, ApiClient, ApiSlow, ApiUnreachable, Response
from cardshop.client.tokens import CredentialsError, Login, TokenSource

__all__ = ["ApiCertificateError", "ApiClient", "ApiSlow", "ApiUnreachable", "CredentialsError", "Login", "Response", "TokenSource"]
