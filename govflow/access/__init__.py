"""Who is acting: users, passwords, API tokens, sessions and sign-in lockout."""
