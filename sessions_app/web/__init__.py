"""The server-rendered "Manage active sessions" face for a tenant's end users."""
