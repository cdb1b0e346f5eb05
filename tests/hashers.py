from django.contrib.auth.hashers import Argon2PasswordHasher


class QuickArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with small costs, for tests only (same algorithm name, so hashes look the same)."""

    time_cost = 1
    memory_cost = 256
    parallelism = 1
