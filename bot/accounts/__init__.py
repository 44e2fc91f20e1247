"""Staff accounts: passwords, sessions, sign-in throttles, and the audit trail."""
