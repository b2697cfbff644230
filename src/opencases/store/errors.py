"""Store-level errors that the service layer translates into API errors."""


class UniqueViolation(Exception):
    """A uniqueness constraint rejected the write (a name, token or reference taken)."""

    def __init__(self, constraint: str) -> None:
        super().__init__(constraint)
        self.constraint = constraint
