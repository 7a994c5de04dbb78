"""Accounts of the centre's staff, their roles, masking of personal data and the audit of its reads.

store   the ``accounts`` table: add, list, disable, a new token, a password (argon2)
auth    who is asking: a personal token (``hlk_...``) or ``OPERATOR_TOKEN`` (the bootstrap admin)
mask    pure: an appeal, its history and free text without the citizen's personal data
audit   every read of personal data (and every refused attempt), and the admins' query of it
views   what each role gets when it opens an appeal or searches
api     ``GET /api/v1/audit``, ``GET /api/v1/appeals/{no}/contact``
cli     ``hotline-gateway accounts add|list|disable|token|password``
"""

from gateway.accounts.auth import Principal, require, who
from gateway.accounts.store import AccountStore, Role

__all__ = ["AccountStore", "Principal", "Role", "require", "who"]
