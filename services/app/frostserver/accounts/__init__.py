"""Accounts on the device: users, browser sessions, API tokens, the first admin's claim, and the audit log.

Kept in `accounts.db` (SQLite) beside the history, apart from it. One module per job:

- model.py: users, roles, token scopes, who is asking (Principal), the rules for names and
  passwords, and the errors every caller maps (to an HTTP status, or a CLI message);
- database.py: the file: its schema, version and application id; a foreign or corrupt file is
  moved aside, never altered;
- store.py: AccountStore, the one module that speaks SQL (every change one transaction);
- passwords.py: Argon2id hashing, and the same work for an unknown user;
- hash_gate.py: how many passwords a worker hashes at once;
- sessions.py, tokens.py: session cookies and bearer tokens, of which only hashes are kept;
- limits.py: failed sign-ins per account and per client address;
- setup_code.py: the one-time code that claims a new device;
- audit.py: the audit log (the database and a log line per event);
- actions.py: Accounts, what the HTTP side (http/signin.py, http/accounts.py) and the CLI do;
- __main__.py: the CLI, `python -m frostserver.accounts` (add, passwd, remove, list, token,
  tokens, revoke, logout, setup-code).
"""
