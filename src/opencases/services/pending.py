"""Operations whose issue is not done yet: they answer a clear ValidationException, never a 500."""

from opencases.services.registry import PENDING

_LATER: dict[str, list[str]] = {}

for issue, names in _LATER.items():
    for name in names:
        PENDING[name] = f"issue {issue}"
